// CUDA kernels for genreg::conv1d_block_forward / conv1d_block_backward, the same
// ops and semantics as csrc/cpu/conv1d_block.cpp:
//   z = conv1d(x, weight, 'same' padding K/2, stride 1) + bias
//   a = activation(z)            relu | leaky_relu(negative_slope) | none
//   y = max_pool1d(a, 2)         (floor; optional)
// plus a uint8 code per output: bit 0 = which of the pooled pair won (the first on
// ties, NaN propagates, like torch), bit 1 = z > 0 there. The backward needs only
// that code, x and weight.
//
// float32 and float64, and float16/bfloat16 inputs with float32 accumulation (z is
// rounded to the input type before the activation and the pool, as the reference
// does, so the code routes the gradient where torch's max_pool1d would).
//
// Three kernels:
//  * same_conv_kernel: out[b, o, t] = sum_{c, k} W(o, c, k) * in(b, c, t + k - pad).
//    One block per (sample, tile of 2T positions, tile of kOutTile out channels);
//    T threads, each owning positions t0 + tid and t0 + T + tid for all channels of
//    the tile (register blocking: each staged input value feeds kOutTile FMAs).
//    The input rows (plus halo) and the weights of a chunk of input channels are
//    staged in shared memory with coalesced loads. It runs
//      - the forward: in = x, epilogue bias + activation + pool + code;
//      - the input gradient, a transposed conv: in = the gradient at z computed on
//        the fly from grad_out and code (the routed, unpooled gradient), W = the
//        weight with in/out channels swapped and the kernel flipped.
//  * weight_grad_kernel: grad_w as a GEMM, [cout] x [cin*K (+1 bias column of ones)]
//    reduced over (sample, position), tiles of 32 x 32 in shared memory; the
//    reduction is split over blocks (grid.z), each writing a partial tile.
//  * sum_partials_kernel: adds the partial tiles in a fixed order (deterministic, no
//    atomics) and writes grad_w and grad_b in the input dtype.
#include <ATen/core/Tensor.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "../conv1d_args.h"
#include "conv1d_tiles.cuh"

namespace genreg {
namespace {

using conv1d::Act;
using conv1d::check_grad_out_and_code;
using conv1d::negative_side_slope;
using conv1d::parse_activation;


void check_conv_inputs(const at::Tensor& x, const at::Tensor& weight, const char* op) {
  conv1d::check_conv_shapes(x, weight, op);
  TORCH_CHECK(weight.size(2) <= kMaxKernel, op, ": the CUDA kernel supports kernel sizes up to ", kMaxKernel,
              ", got ", weight.size(2));
  const auto dtype = x.scalar_type();
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kDouble || dtype == at::kHalf || dtype == at::kBFloat16, op,
              ": x must be float32, float64, float16 or bfloat16, got ", dtype);
  TORCH_CHECK(weight.scalar_type() == dtype, op, ": weight has dtype ", weight.scalar_type(), ", expected ", dtype);
  TORCH_CHECK(x.is_cuda() && weight.device() == x.device(), op, ": the CUDA kernel needs x and weight on one CUDA ",
              "device, got ", x.device(), " and ", weight.device());
}

// The gradient at z[s] of one (sample, channel) row, from the gradient at the
// block's output and the code: routed to the pooled winner, times the activation's
// slope there. 0 <= s < len.
// relu selects 0 where z <= 0 (0 * an infinite gradient would be NaN; torch's relu
// backward gives 0 there), the other activations multiply by their slope.
template <typename scalar_t, typename acc_t>
__device__ __forceinline__ acc_t grad_at_z(const scalar_t* __restrict__ go_row, const uint8_t* __restrict__ code_row,
                                           int64_t s, int64_t out_len, bool pool, acc_t neg, bool relu) {
  int64_t j = s;
  if (pool) {
    j = s >> 1;
    if (j >= out_len) return acc_t(0);  // the odd last position, dropped by the pool
  }
  const uint8_t c = code_row[j];
  if (pool && (c & 1) != (s & 1)) return acc_t(0);  // the pair's loser
  const acc_t g = static_cast<acc_t>(go_row[j]);
  if (c & 2) return g;
  return relu ? acc_t(0) : neg * g;
}

// Everything same_conv_kernel needs; see the comment at the top.
template <typename scalar_t, typename acc_t>
struct SameConv {
  // out[b, o, t] = sum_{c < in_ch, k < kernel} W(o, c, k) * in(b, c, t + k - pad)
  int64_t batch, in_ch, out_ch, len, kernel, pad;
  // W(o, c, k) = weight[o * w_out_stride + c * w_in_stride + (flip ? kernel - 1 - k : k)]
  const scalar_t* weight;
  int64_t w_out_stride, w_in_stride;
  bool flip;
  int chunk;  // input channels staged in shared memory at a time
  // the input: x (in_ch rows per sample) or, when go != nullptr, the gradient at z of
  // the forward, from go and code (in_ch = the forward's out channels)
  const scalar_t* x;
  const scalar_t* go;
  const uint8_t* code;
  int64_t pooled_len;  // the forward's output length
  bool pool;
  acc_t neg;  // the activation's slope where z <= 0
  bool relu;  // the activation is relu: 0 selected where z <= 0, not 0 * z
  // forward epilogue (out_code != nullptr): bias, activation, pool, code
  const scalar_t* bias;
  uint8_t* out_code;
  scalar_t* out;
  int64_t out_len;
};

// The activation of z, rounded to scalar_t as the reference's separate op would be.
// relu selects 0 for z <= 0: 0 * z would be NaN where z overflowed to -inf (float16
// reaches that at 65504), while torch's relu gives 0; NaN stays NaN either way.
template <typename scalar_t, typename acc_t>
__device__ __forceinline__ acc_t activate(acc_t z, acc_t neg, bool relu) {
  if (relu) return z <= acc_t(0) ? acc_t(0) : z;
  return z > acc_t(0) ? z : static_cast<acc_t>(static_cast<scalar_t>(neg * z));
}

// Writes one position's result for kOutTile channels. All lanes of the warp must
// call it (the pool pairs lanes 2i and 2i+1 through a shuffle), also those whose
// position t is past the row's end (valid == false): they store nothing.
template <typename scalar_t, typename acc_t>
__device__ __forceinline__ void store_position(const SameConv<scalar_t, acc_t>& p, int64_t b, int o0, int64_t t,
                                               bool valid, const acc_t (&acc)[kOutTile]) {
#pragma unroll
  for (int i = 0; i < kOutTile; ++i) {
    const int o = o0 + i;
    const bool channel = o < p.out_ch;
    const int64_t row = b * p.out_ch + o;
    if (p.out_code == nullptr) {  // input gradient: a plain store
      if (valid && channel) p.out[row * p.out_len + t] = static_cast<scalar_t>(acc[i]);
      continue;
    }
    const acc_t bias = (p.bias != nullptr && channel) ? static_cast<acc_t>(p.bias[o]) : acc_t(0);
    const acc_t z = static_cast<acc_t>(static_cast<scalar_t>(acc[i] + bias));
    if (!p.pool) {
      if (valid && channel) {
        p.out[row * p.out_len + t] = static_cast<scalar_t>(activate<scalar_t>(z, p.neg, p.relu));
        p.out_code[row * p.out_len + t] = static_cast<uint8_t>((z > acc_t(0)) << 1);
      }
      continue;
    }
    // Pool: t is even on even lanes (tiles start at even positions, T is a multiple
    // of 32), so the pair (t, t + 1) is (this lane, the next lane).
    const acc_t z1 = __shfl_down_sync(0xffffffffu, z, 1);
    const int64_t j = t >> 1;
    if ((t & 1) == 0 && j < p.out_len && channel) {
      const acc_t a0 = activate<scalar_t>(z, p.neg, p.relu), a1 = activate<scalar_t>(z1, p.neg, p.relu);
      const bool second = a1 > a0 || (a1 != a1);  // first wins ties; NaN propagates
      p.out[row * p.out_len + j] = static_cast<scalar_t>(second ? a1 : a0);
      p.out_code[row * p.out_len + j] =
          static_cast<uint8_t>(second) | static_cast<uint8_t>(((second ? z1 : z) > acc_t(0)) << 1);
    }
  }
}

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kMaxThreads) same_conv_kernel(const SameConv<scalar_t, acc_t> p) {
  extern __shared__ __align__(sizeof(double)) unsigned char smem_raw[];
  acc_t* smem = reinterpret_cast<acc_t*>(smem_raw);
  const int T = blockDim.x, tid = threadIdx.x;
  const int64_t tiles = (p.len + 2 * T - 1) / (2 * T);
  const int64_t b = blockIdx.x / tiles;
  const int64_t t0 = (blockIdx.x % tiles) * 2 * T;  // first position of this tile
  const int o0 = blockIdx.y * kOutTile;
  const int span = 2 * T + static_cast<int>(p.kernel) - 1;  // positions of one staged input row
  const int K = static_cast<int>(p.kernel);
  acc_t* xs = smem;                         // [chunk][span]
  acc_t* ws = smem + p.chunk * span;        // [chunk][K][kOutTile]

  acc_t acc0[kOutTile], acc1[kOutTile];
#pragma unroll
  for (int i = 0; i < kOutTile; ++i) acc0[i] = acc1[i] = acc_t(0);

  for (int64_t c0 = 0; c0 < p.in_ch; c0 += p.chunk) {
    const int nc = static_cast<int>(min(static_cast<int64_t>(p.chunk), p.in_ch - c0));
    __syncthreads();  // the previous chunk's compute is done with the shared tiles
    for (int cc = 0; cc < nc; ++cc) {
      const int64_t row = b * p.in_ch + c0 + cc;
      for (int i = tid; i < span; i += T) {
        const int64_t s = t0 - p.pad + i;
        acc_t v = acc_t(0);
        if (s >= 0 && s < p.len) {
          v = p.go == nullptr ? static_cast<acc_t>(p.x[row * p.len + s])
                              : grad_at_z<scalar_t, acc_t>(p.go + row * p.pooled_len, p.code + row * p.pooled_len, s,
                                                           p.pooled_len, p.pool, p.neg, p.relu);
        }
        xs[cc * span + i] = v;
      }
    }
    for (int e = tid; e < nc * K * kOutTile; e += T) {
      const int i = e % kOutTile, k = (e / kOutTile) % K, cc = e / (kOutTile * K);
      const int o = o0 + i;
      const int kk = p.flip ? K - 1 - k : k;
      ws[e] = o < p.out_ch ? static_cast<acc_t>(p.weight[o * p.w_out_stride + (c0 + cc) * p.w_in_stride + kk])
                           : acc_t(0);
    }
    __syncthreads();
    for (int cc = 0; cc < nc; ++cc) {
      const acc_t* xr = xs + cc * span;
      for (int k = 0; k < K; ++k) {
        const acc_t x0 = xr[tid + k], x1 = xr[T + tid + k];
        const acc_t* w = ws + (cc * K + k) * kOutTile;
#pragma unroll
        for (int i = 0; i < kOutTile; ++i) {
          acc0[i] += w[i] * x0;
          acc1[i] += w[i] * x1;
        }
      }
    }
  }
  const int64_t ta = t0 + tid, tb = t0 + T + tid;
  store_position(p, b, o0, ta, ta < p.len, acc0);
  store_position(p, b, o0, tb, tb < p.len, acc1);
}

template <typename scalar_t, typename acc_t>
void launch_same_conv(SameConv<scalar_t, acc_t> p, const char* op) {
  const ConvLaunch l = plan_conv_launch<acc_t>(p.batch, p.len, p.kernel, p.in_ch, p.out_ch, op);
  p.chunk = l.chunk;
  same_conv_kernel<scalar_t, acc_t><<<l.grid, l.threads, l.shared, c10::cuda::getCurrentCUDAStream()>>>(p);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

// --- weight gradient ----------------------------------------------------------------
// grad_w[o, n] = sum_{b, t} gz(b, o, t) * X(b, t, n) with n = c * K + k and
// X(b, t, n) = x[b, c, t + k - pad] (0 outside the row); with a bias, one more
// column n = cin * K of ones gives grad_b. A 32 x 32 tile of (o, n) per block,
// 64 threads of 4 x 4 outputs; grid.z splits the (b, t) reduction.


template <typename scalar_t, typename acc_t>
struct WeightGrad {
  int64_t batch, cin, cout, len, kernel, pad, pooled_len, cols;  // cols = cin * K (+1 with a bias)
  int64_t r_chunk;                                                 // (b, t) pairs per grid.z slice
  bool pool, relu;
  acc_t neg;
  const scalar_t* x;
  const scalar_t* go;
  const uint8_t* code;
  acc_t* partial;  // [gridDim.z][cout][cols]
};

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kGemmThreads) weight_grad_kernel(const WeightGrad<scalar_t, acc_t> p) {
  __shared__ acc_t gz_tile[kTileR][kTileM + 1];  // +1: the loads below walk down columns
  __shared__ acc_t x_tile[kTileR][kTileN + 1];
  const int tid = threadIdx.x, tm = tid / 8, tn = tid % 8;
  const int64_t m0 = blockIdx.y * int64_t(kTileM), n0 = blockIdx.x * int64_t(kTileN);
  const int64_t total = p.batch * p.len;
  const int64_t r_begin = blockIdx.z * p.r_chunk, r_end = min(total, r_begin + p.r_chunk);
  const int64_t taps = p.cin * p.kernel;
  acc_t acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = acc_t(0);

  // Each thread loads the same position slot rr of every r tile, for the channels
  // (gz) and taps (x) lane_group + 4 i; the taps' (channel, shift) are fixed, so
  // they are worked out once here, and each tile costs one division for (b, t).
  const int rr = tid % kTileR, lane_group = tid / kTileR;
  int64_t tap_row[kLoadsPerThread];  // c * len, or -1 for the bias column / no column
  int tap_shift[kLoadsPerThread];     // k - pad
#pragma unroll
  for (int i = 0; i < kLoadsPerThread; ++i) {
    const int64_t n = n0 + lane_group + kGroups * i;
    const int64_t c = n / p.kernel;
    tap_row[i] = n < taps ? c * p.len : -1;
    tap_shift[i] = static_cast<int>(n - c * p.kernel - p.pad);
  }
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kTileR) {
    const int64_t r = r0 + rr;
    const bool in_range = r < r_end;
    const int64_t b = in_range ? r / p.len : 0, t = r - b * p.len;
#pragma unroll
    for (int i = 0; i < kLoadsPerThread; ++i) {
      const int m = lane_group + kGroups * i;
      const int64_t o = m0 + m;
      acc_t v = acc_t(0);
      if (in_range && o < p.cout) {
        const int64_t row = b * p.cout + o;
        v = grad_at_z<scalar_t, acc_t>(p.go + row * p.pooled_len, p.code + row * p.pooled_len, t, p.pooled_len,
                                       p.pool, p.neg, p.relu);
      }
      gz_tile[rr][m] = v;
    }
#pragma unroll
    for (int i = 0; i < kLoadsPerThread; ++i) {
      const int nl = lane_group + kGroups * i;
      const int64_t n = n0 + nl;
      acc_t v = acc_t(0);
      if (in_range && n < p.cols) {
        if (tap_row[i] < 0) {
          v = acc_t(1);  // the bias column
        } else {
          const int64_t s = t + tap_shift[i];
          if (s >= 0 && s < p.len) v = static_cast<acc_t>(p.x[b * p.cin * p.len + tap_row[i] + s]);
        }
      }
      x_tile[rr][nl] = v;
    }
    __syncthreads();
    gemm_tile_fma(gz_tile, x_tile, tm, tn, acc);
    __syncthreads();
  }
  store_partial_tile(p.partial, p.cout, p.cols, m0, n0, tm, tn, acc);
}


// --- the ops ------------------------------------------------------------------------

std::tuple<at::Tensor, at::Tensor> conv1d_block_forward_cuda(const at::Tensor& x_in, const at::Tensor& weight_in,
                                                             const std::optional<at::Tensor>& bias_in,
                                                             c10::string_view activation, double negative_slope,
                                                             bool pool) {
  const char* op = "conv1d_block_forward";
  check_conv_inputs(x_in, weight_in, op);
  const Act act = parse_activation(activation, op);
  const bool has_bias = bias_in.has_value() && bias_in->defined();
  if (has_bias) {
    TORCH_CHECK(bias_in->dim() == 1 && bias_in->size(0) == weight_in.size(0), op, ": bias must have shape (",
                weight_in.size(0), ",), got ", bias_in->sizes());
    TORCH_CHECK(bias_in->scalar_type() == x_in.scalar_type() && bias_in->device() == x_in.device(), op,
                ": bias must be a tensor of dtype ", x_in.scalar_type(), " on ", x_in.device(), ", got ",
                bias_in->scalar_type(), " on ", bias_in->device());
  }
  const c10::cuda::CUDAGuard guard(x_in.device());
  auto x = x_in.contiguous();
  auto weight = weight_in.contiguous();
  at::Tensor bias = has_bias ? bias_in->contiguous() : at::Tensor();
  const int64_t batch = x.size(0), cin = x.size(1), len = x.size(2);
  const int64_t cout = weight.size(0), kernel = weight.size(2);
  TORCH_CHECK(!pool || len >= 2, op, ": max-pool 2 needs length >= 2, got ", len);
  const int64_t out_len = pool ? len / 2 : len;
  auto out = at::empty({batch, cout, out_len}, x.options());
  auto code = at::empty({batch, cout, out_len}, x.options().dtype(at::kByte));
  if (out.numel() == 0) return {out, code};
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "conv1d_block_forward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    SameConv<scalar_t, acc_t> p{};
    p.batch = batch, p.in_ch = cin, p.out_ch = cout, p.len = len, p.kernel = kernel, p.pad = kernel / 2;
    p.weight = weight.data_ptr<scalar_t>(), p.w_out_stride = cin * kernel, p.w_in_stride = kernel, p.flip = false;
    p.x = x.data_ptr<scalar_t>(), p.go = nullptr, p.code = nullptr, p.pooled_len = out_len, p.pool = pool;
    p.neg = static_cast<acc_t>(negative_side_slope(act, negative_slope)), p.relu = act == Act::relu;
    p.bias = has_bias ? bias.data_ptr<scalar_t>() : nullptr;
    p.out_code = code.data_ptr<uint8_t>(), p.out = out.data_ptr<scalar_t>(), p.out_len = out_len;
    launch_same_conv(p, op);
  });
  return {out, code};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv1d_block_backward_cuda(
    const at::Tensor& grad_out_in, const at::Tensor& x_in, const at::Tensor& weight_in, const at::Tensor& code_in,
    c10::string_view activation, double negative_slope, bool pool, bool has_bias) {
  const char* op = "conv1d_block_backward";
  check_conv_inputs(x_in, weight_in, op);
  const Act act = parse_activation(activation, op);
  const int64_t batch = x_in.size(0), cin = x_in.size(1), len = x_in.size(2);
  const int64_t cout = weight_in.size(0), kernel = weight_in.size(2);
  const int64_t out_len = pool ? len / 2 : len;
  const std::vector<int64_t> out_shape{batch, cout, out_len};
  check_grad_out_and_code(grad_out_in, code_in, x_in, out_shape, op);
  TORCH_CHECK(grad_out_in.device() == x_in.device() && code_in.device() == x_in.device(), op,
              ": grad_out and code must be on ", x_in.device(), ", got ", grad_out_in.device(), " and ",
              code_in.device());
  const c10::cuda::CUDAGuard guard(x_in.device());
  auto go = grad_out_in.contiguous();
  auto x = x_in.contiguous();
  auto weight = weight_in.contiguous();
  auto code = code_in.contiguous();
  auto grad_x = at::empty_like(x);
  auto grad_w = at::empty_like(weight);
  auto grad_b = at::empty({has_bias ? cout : 0}, x.options());
  if (batch * len == 0 || cout == 0) {  // nothing flows back: zero gradients
    grad_x.zero_(), grad_w.zero_(), grad_b.zero_();
    return {grad_x, grad_w, grad_b};
  }
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "conv1d_block_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const acc_t neg = static_cast<acc_t>(negative_side_slope(act, negative_slope));
    // 1. input gradient: the transposed conv of the routed gradient gz
    if (cin > 0) {
      SameConv<scalar_t, acc_t> p{};
      p.batch = batch, p.in_ch = cout, p.out_ch = cin, p.len = len, p.kernel = kernel, p.pad = kernel / 2;
      p.weight = weight.data_ptr<scalar_t>(), p.w_out_stride = kernel, p.w_in_stride = cin * kernel, p.flip = true;
      p.x = nullptr, p.go = go.data_ptr<scalar_t>(), p.code = code.data_ptr<uint8_t>();
      p.pooled_len = out_len, p.pool = pool, p.neg = neg, p.relu = act == Act::relu;
      p.bias = nullptr, p.out_code = nullptr, p.out = grad_x.data_ptr<scalar_t>(), p.out_len = len;
      launch_same_conv(p, op);
    }
    // 2. weight and bias gradients: split reduction, then a fixed-order sum
    WeightGrad<scalar_t, acc_t> q{};
    q.batch = batch, q.cin = cin, q.cout = cout, q.len = len, q.kernel = kernel, q.pad = kernel / 2;
    q.pooled_len = out_len, q.cols = cin * kernel + (has_bias ? 1 : 0), q.pool = pool, q.neg = neg;
    q.relu = act == Act::relu;
    q.x = x.data_ptr<scalar_t>(), q.go = go.data_ptr<scalar_t>(), q.code = code.data_ptr<uint8_t>();
    if (q.cols == 0) return;
    const GemmLaunch g = plan_weight_grad(cout, q.cols, batch * len, op);
    q.r_chunk = g.r_chunk;
    const int64_t slices = g.slices;
    auto partial = at::empty({slices, cout, q.cols}, x.options().dtype(c10::CppTypeToScalarType<acc_t>::value));
    q.partial = partial.data_ptr<acc_t>();
    weight_grad_kernel<scalar_t, acc_t><<<g.grid, kGemmThreads, 0, stream>>>(q);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    launch_sum_partials<scalar_t, acc_t>(q.partial, slices, cout, q.cols, cin * kernel, grad_w.data_ptr<scalar_t>(),
                                         has_bias ? grad_b.data_ptr<scalar_t>() : nullptr, stream);
  });
  return {grad_x, grad_w, grad_b};
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CUDA, m) {
  m.impl("conv1d_block_forward", &conv1d_block_forward_cuda);
  m.impl("conv1d_block_backward", &conv1d_block_backward_cuda);
}

}  // namespace genreg
