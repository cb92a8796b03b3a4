// See loops.h. `omp simd reduction` lets the compiler vectorise the float
// reductions (reassociation) without -ffast-math for the whole file.
#include "loops.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && defined(__linux__)
#define GENREG_MULTIVERSION __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define GENREG_MULTIVERSION
#endif

// The clones only get their instruction set if the loop is compiled inside them.
#if defined(__GNUC__) || defined(__clang__)
#define GENREG_INLINE inline __attribute__((always_inline))
#else
#define GENREG_INLINE inline
#endif

namespace genreg {
namespace loops {
namespace {

// A single vector accumulator makes the sum latency-bound (one dependent add per
// vector, ~4 cycles): about 48 GB/s on a 3 GHz AVX-512 core, below what L2 and
// even L3 deliver. kLanes partial sums give the compiler 4-8 independent vector
// chains (AVX-512 / AVX2), so the loop runs at load speed.
constexpr int64_t kLanes = 64;

template <typename T>
GENREG_INLINE T sumsq_impl(const T* __restrict__ x, int64_t n) {
  T lanes[kLanes] = {};
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) {
#pragma omp simd
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += x[i + j] * x[i + j];
  }
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = body; i < n; ++i) acc += x[i] * x[i];  // vectorised too: rows of 500 have a 52-long tail
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < kLanes; ++j) acc += lanes[j];
  return acc;
}

template <typename T>
GENREG_INLINE void scale_impl(const T* __restrict__ x, T a, T* __restrict__ out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = a * x[i];
}

}  // namespace

GENREG_MULTIVERSION float sumsq(const float* x, int64_t n) { return sumsq_impl(x, n); }
GENREG_MULTIVERSION double sumsq(const double* x, int64_t n) { return sumsq_impl(x, n); }
GENREG_MULTIVERSION void scale(const float* x, float a, float* out, int64_t n) { scale_impl(x, a, out, n); }
GENREG_MULTIVERSION void scale(const double* x, double a, double* out, int64_t n) { scale_impl(x, a, out, n); }

// lerp rounds after the subtraction, the product and the sum, like the reference's
// three ATen ops, so gp_interpolate is bitwise the reference for float and double: a
// fused multiply-add would round once less, and the critic would then see an input a
// rounding apart on the two paths (enough to flip a LeakyReLU near 0 and make the
// parameter gradients of a WGAN-GP step differ by far more than rounding). Hence no
// contraction in these two functions (GCC's default -ffp-contract=fast would use FMA).
#if defined(__GNUC__) && !defined(__clang__)
#define GENREG_NO_FP_CONTRACT __attribute__((optimize("fp-contract=off")))
#define GENREG_NO_FP_CONTRACT_BODY
#elif defined(__clang__)
#define GENREG_NO_FP_CONTRACT
#define GENREG_NO_FP_CONTRACT_BODY _Pragma("clang fp contract(off)")
#else
#define GENREG_NO_FP_CONTRACT
#define GENREG_NO_FP_CONTRACT_BODY
#endif

GENREG_MULTIVERSION GENREG_NO_FP_CONTRACT void lerp(const float* __restrict__ from, const float* __restrict__ to,
                                                    float w, float* __restrict__ out, int64_t n) {
  GENREG_NO_FP_CONTRACT_BODY
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = from[i] + w * (to[i] - from[i]);
}
GENREG_MULTIVERSION GENREG_NO_FP_CONTRACT void lerp(const double* __restrict__ from, const double* __restrict__ to,
                                                    double w, double* __restrict__ out, int64_t n) {
  GENREG_NO_FP_CONTRACT_BODY
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = from[i] + w * (to[i] - from[i]);
}

}  // namespace loops
}  // namespace genreg
