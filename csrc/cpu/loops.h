// Hot inner loops shared by the CPU kernels, built once per instruction set
// (AVX-512, AVX2+FMA, plain x86-64) and picked at run time by isa.h's mechanism
// (GENREG_CPU_ISA can lower it), so one binary runs fast on new CPUs and still runs
// on old ones.
#pragma once
#include <cstdint>

namespace genreg {
namespace loops {

// sum_i x[i]^2
float sumsq(const float* x, int64_t n);
double sumsq(const double* x, int64_t n);

// out[i] = a * x[i]
void scale(const float* x, float a, float* out, int64_t n);
void scale(const double* x, double a, double* out, int64_t n);

// out[i] = from[i] + w * (to[i] - from[i])
void lerp(const float* from, const float* to, float w, float* out, int64_t n);
void lerp(const double* from, const double* to, double w, double* out, int64_t n);

// Adam's per-tensor coefficients, in the float32 arithmetic of adam_block.
struct AdamCoef {
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float step_size;              // lr / (1 - beta1^step)
  float bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  float eps, weight_decay;
};

// One Adam update (L2 weight decay, Kingma & Ba 2015) of n float32 elements, if every
// gradient among them is finite; returns false, writing nothing, if one is not.
bool adam_block(float* param, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n,
                const AdamCoef& c);

}  // namespace loops
}  // namespace genreg
