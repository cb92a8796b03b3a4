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

}  // namespace loops
}  // namespace genreg
