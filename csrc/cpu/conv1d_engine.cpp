// See conv1d_engine.h. The loops (conv1d_loops.inc) are templates over the vector
// width W (GCC/Clang vector extensions). They are included three times, each copy in
// its own namespace inside a target region (AVX-512, AVX2+FMA, none: plain x86-64),
// so every copy -- templates included -- is compiled for its instruction set and no
// code built for a wider set is shared with the narrower ones; isa.h picks the copy. (An always-inline
// generic template inlined into a target function is not enough: GCC lowers its
// vector selects and compares for the generic target first, element by element.)
//
// Forward: a tile of MR output channels x NV vectors of positions lives in registers
// while the loop runs over in_channels x taps (one broadcast weight times NV shifted
// input vectors per step); activation, max-pool 2 and the uint8 code are applied to
// the registers before they are stored. Weight gradient: a tile of MR output
// channels x KB taps of one input channel, summed over positions and samples.
// (A * B + C on vectors is contracted to FMA by GCC and Clang in C++ by default.)
#include "conv1d_engine.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "isa.h"

#define GENREG_INLINE inline __attribute__((always_inline))

#ifdef GENREG_X86_ISAS
#include <immintrin.h>
#endif

namespace genreg {
namespace conv1d {
namespace {

// Forward tiles: 4 output channels x kForwardVectors vectors (16 accumulators with
// AVX-512's 32 registers, 8 with the 16 of AVX2/SSE). Weight-gradient tiles:
// kGradChannels output channels x kGradTaps taps (4 x 5 with AVX-512, 3 x 4 with AVX2,
// 2 x 5 with SSE: the fastest of the shapes that fit the registers, measured).
namespace isa_baseline {
constexpr int kFloatLanes = 4, kDoubleLanes = 2, kForwardVectors = 2, kGradChannels = 2, kGradTaps = 5;
#include "conv1d_loops.inc"
}  // namespace isa_baseline

#ifdef GENREG_X86_ISAS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace isa_avx2 {
constexpr int kFloatLanes = 8, kDoubleLanes = 4, kForwardVectors = 2, kGradChannels = 3, kGradTaps = 4;
#include "conv1d_loops.inc"
}  // namespace isa_avx2
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#endif
namespace isa_avx512 {
constexpr int kFloatLanes = 16, kDoubleLanes = 8, kForwardVectors = 4, kGradChannels = 4, kGradTaps = 5;
#include "conv1d_loops.inc"
}  // namespace isa_avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // GENREG_X86_ISAS

}  // namespace

void forward(const ForwardArgs<float>& a) { GENREG_ISA_DISPATCH(forward(a)) }
void forward(const ForwardArgs<double>& a) { GENREG_ISA_DISPATCH(forward(a)) }
void weight_grad(const WeightGradArgs<float>& a) { GENREG_ISA_DISPATCH(weight_grad(a)) }
void weight_grad(const WeightGradArgs<double>& a) { GENREG_ISA_DISPATCH(weight_grad(a)) }
float grad_at_z(const float* grad_out, const uint8_t* code, int64_t n, bool pool, float negative_slope, bool relu,
                float* gz) {
  GENREG_ISA_DISPATCH(grad_at_z(grad_out, code, n, pool, negative_slope, relu, gz))
}
double grad_at_z(const double* grad_out, const uint8_t* code, int64_t n, bool pool, double negative_slope, bool relu,
                 double* gz) {
  GENREG_ISA_DISPATCH(grad_at_z(grad_out, code, n, pool, negative_slope, relu, gz))
}

float grad_at_z_unpool(const float* grad_out, const uint8_t* code, int64_t n, float negative_slope, bool relu,
                       float* gz_even, float* gz_odd) {
  GENREG_ISA_DISPATCH(grad_at_z_unpool(grad_out, code, n, negative_slope, relu, gz_even, gz_odd))
}
double grad_at_z_unpool(const double* grad_out, const uint8_t* code, int64_t n, double negative_slope, bool relu,
                        double* gz_even, double* gz_odd) {
  GENREG_ISA_DISPATCH(grad_at_z_unpool(grad_out, code, n, negative_slope, relu, gz_even, gz_odd))
}

}  // namespace conv1d
}  // namespace genreg
