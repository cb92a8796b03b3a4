// Register-blocked 1-D convolution loops shared by the conv1d kernels
// (conv1d_block.cpp, upconv1d_block.cpp). They work on one sample's rows held in
// zero-padded buffers, so the loops need no bounds checks:
//
//   padded row r of a (channels, L) input: index i holds x[r][i - kernel/2] for
//   0 <= i - kernel/2 < L and 0 elsewhere, and is padded_row_length(L, kernel) long.
//
// Each loop is built for AVX-512, AVX2+FMA and plain x86-64 (SSE2) and picked once
// from what the CPU supports by isa.h's mechanism (GENREG_CPU_ISA=avx2|baseline picks
// a narrower one, for tests and comparisons).
#pragma once
#include <cstdint>

namespace genreg {
namespace conv1d {

// Positions computed per tile step: rows are padded so that every tile of every
// instruction set reads inside the buffer.
constexpr int64_t kMaxTile = 64;

inline int64_t padded_row_length(int64_t length, int64_t kernel) {
  const int64_t n = (length + kMaxTile - 1) / kMaxTile * kMaxTile + kernel - 1;
  return (n + 15) / 16 * 16;
}

// What the forward loop does with z = bias + sum_{c,k} w[o,c,k] * xpad[c][t + k]:
//   plain:    y[o][t] = z
//   act:      y[o][t] = act(z), code[o][t] = (z > 0) << 1
//   pool_act: y[o][j] = max(act(z[2j]), act(z[2j+1])) (first on ties, NaN wins),
//             code[o][j] = (second won) | (the winner's z > 0) << 1
//   unpool_act: rows come in pairs, the even and odd positions of one output row:
//             y[o/2][2t + o%2] = act(z[o][t]), code likewise (z > 0) << 1; with
//             y_stride = positions, pair o starts at y + o * y_stride (o even)
// where act(z) = z > 0 ? z : negative_slope * z.
enum class Store { plain, act, pool_act, unpool_act };

template <typename T>
struct ForwardArgs {
  const T* x;          // padded input rows of one sample
  int64_t x_stride;    // between rows
  int64_t in_channels;
  const T* weight;     // (out_channels, in_channels, kernel), contiguous
  const T* bias;       // (out_channels) or nullptr
  int64_t out_channels;
  int64_t kernel;
  int64_t positions;   // z positions to compute, t in [0, positions)
  Store store;
  T negative_slope;
  T* y;                // output rows; pool_act writes positions / 2 per row
  uint8_t* code;       // like y (unused by plain)
  int64_t y_stride;    // between output rows
  bool relu = false;   // act is relu: 0 selected where z <= 0 (0 * -inf would be NaN)
};

// grad_w[o][c][k] += sum_s sum_{t < positions} gz_s[o][t] * xpad_s[c][t + k]
// over `samples` samples. gz rows must be zero from `positions` up to the next
// multiple of kMaxTile.
template <typename T>
struct WeightGradArgs {
  const T* x;  // padded input rows
  int64_t x_stride, x_sample_stride, in_channels;
  const T* gz;  // gradient rows at z; gz[o][t] at gz + o * gz_stride + t
  int64_t gz_stride, gz_sample_stride, out_channels;
  int64_t samples, kernel, positions;
  T* grad_weight;  // (out_channels, in_channels, kernel), accumulated into
};

void forward(const ForwardArgs<float>& a);
void forward(const ForwardArgs<double>& a);
void weight_grad(const WeightGradArgs<float>& a);
void weight_grad(const WeightGradArgs<double>& a);

// The gradient at z of one output row from the gradient at the output and the code
// written by the forward (Store::act or pool_act): with pool, gz[2j + (code[j] & 1)]
// = slope * grad_out[j] and 0 at the pair's other position (2n values); without,
// gz[j] = slope * grad_out[j]. slope is 1 where code & 2, negative_slope elsewhere.
// relu: 0 selected where the code says z <= 0 (0 * an infinite gradient would be NaN).
// Returns the sum of gz (the row's bias gradient).
float grad_at_z(const float* grad_out, const uint8_t* code, int64_t n, bool pool, float negative_slope, bool relu,
                float* gz);
double grad_at_z(const double* grad_out, const uint8_t* code, int64_t n, bool pool, double negative_slope, bool relu,
                 double* gz);

// The gradient at z for unpool_act: row r of grad_out (2n values) and its code give
// gz_even[t] = slope * grad_out[2t] and gz_odd[t] = slope * grad_out[2t + 1], t < n.
// Returns the sum of both.
float grad_at_z_unpool(const float* grad_out, const uint8_t* code, int64_t n, float negative_slope, bool relu,
                       float* gz_even, float* gz_odd);
double grad_at_z_unpool(const double* grad_out, const uint8_t* code, int64_t n, double negative_slope, bool relu,
                        double* gz_even, double* gz_odd);

}  // namespace conv1d
}  // namespace genreg
