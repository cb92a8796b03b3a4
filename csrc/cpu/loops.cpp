// See loops.h. The loops (loops.inc) are built once per instruction set and picked
// at run time by isa.h's mechanism, as the conv1d loops are. The target regions keep
// the feature sets these loops were first tuned and checked with (AVX-512F alone, and
// Haswell's AVX2 + FMA), so their code and results are what they were.
#include "loops.h"

#include <cmath>

#include "isa.h"

// The copies only get their instruction set if the loop is compiled inside them.
#if defined(__GNUC__) || defined(__clang__)
#define GENREG_INLINE inline __attribute__((always_inline))
#else
#define GENREG_INLINE inline
#endif

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

namespace genreg {
namespace loops {
namespace {

namespace isa_baseline {
#include "loops.inc"
}  // namespace isa_baseline

#ifdef GENREG_X86_ISAS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("arch=haswell"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=haswell")
#endif
namespace isa_avx2 {
#include "loops.inc"
}  // namespace isa_avx2
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif
namespace isa_avx512 {
#include "loops.inc"
}  // namespace isa_avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // GENREG_X86_ISAS

}  // namespace

float sumsq(const float* x, int64_t n) { GENREG_ISA_DISPATCH(sumsq(x, n)) }
double sumsq(const double* x, int64_t n) { GENREG_ISA_DISPATCH(sumsq(x, n)) }
void scale(const float* x, float a, float* out, int64_t n) { GENREG_ISA_DISPATCH(scale(x, a, out, n)) }
void scale(const double* x, double a, double* out, int64_t n) { GENREG_ISA_DISPATCH(scale(x, a, out, n)) }
void lerp(const float* from, const float* to, float w, float* out, int64_t n) {
  GENREG_ISA_DISPATCH(lerp(from, to, w, out, n))
}
void lerp(const double* from, const double* to, double w, double* out, int64_t n) {
  GENREG_ISA_DISPATCH(lerp(from, to, w, out, n))
}

bool adam_block(float* p, float* m, float* v, const float* g, int64_t n, const AdamCoef& c) {
  GENREG_ISA_DISPATCH(adam_block(p, m, v, g, n, c))
}

}  // namespace loops
}  // namespace genreg
