// See loops.h. `omp simd reduction` lets the compiler vectorise the float
// reductions (reassociation) without -ffast-math for the whole file.
#include "loops.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && defined(__linux__)
#define GENREG_MULTIVERSION __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define GENREG_MULTIVERSION
#endif

namespace genreg {
namespace loops {
namespace {

template <typename T>
inline T sumsq_impl(const T* __restrict__ x, int64_t n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += x[i] * x[i];
  return acc;
}

template <typename T>
inline T dot_impl(const T* __restrict__ x, const T* __restrict__ y, int64_t n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += x[i] * y[i];
  return acc;
}

template <typename T>
inline void scale_impl(const T* __restrict__ x, T a, T* __restrict__ out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = a * x[i];
}

template <typename T>
inline void axpy_impl(const T* __restrict__ x, T w, T* __restrict__ out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] += w * x[i];
}

}  // namespace

GENREG_MULTIVERSION float sumsq(const float* x, int64_t n) { return sumsq_impl(x, n); }
GENREG_MULTIVERSION double sumsq(const double* x, int64_t n) { return sumsq_impl(x, n); }
GENREG_MULTIVERSION float dot(const float* x, const float* y, int64_t n) { return dot_impl(x, y, n); }
GENREG_MULTIVERSION double dot(const double* x, const double* y, int64_t n) { return dot_impl(x, y, n); }
GENREG_MULTIVERSION void scale(const float* x, float a, float* out, int64_t n) { scale_impl(x, a, out, n); }
GENREG_MULTIVERSION void scale(const double* x, double a, double* out, int64_t n) { scale_impl(x, a, out, n); }
GENREG_MULTIVERSION void axpy(const float* x, float w, float* out, int64_t n) { axpy_impl(x, w, out, n); }
GENREG_MULTIVERSION void axpy(const double* x, double w, double* out, int64_t n) { axpy_impl(x, w, out, n); }

}  // namespace loops
}  // namespace genreg
