// CUDA kernels for genreg::upconv1d_block_forward / upconv1d_block_backward, the
// same ops and semantics as csrc/cpu/upconv1d_block.cpp (the denoiser's decoder block):
//   u = nearest upsample of x (B, C_in, L) to `size` positions (torch's rule: source
//       index min(floor(s * (L / size)), L - 1), the ratio in float32)
//   z = conv1d(u, weight, 'same' padding K/2, stride 1) + bias
//   y = activation(z)            relu | leaky_relu(negative_slope) | none
// plus a uint8 code per output (bit 1: z > 0) for the backward. u is never stored:
// its values are gathered from x while the input tiles are staged.
//
// float32 and float64, and float16/bfloat16 with float32 accumulation (z rounded to
// the input type before the activation, as the reference's separate ops do).
// A relu never multiplies by its zero slope (0 * inf would be NaN where the
// reference gives 0), forward or backward.
//
// Kernels (the tiling follows csrc/cuda/conv1d_block.cu):
//  * upconv_kernel: out[b, o, t] = sum_{c, k} W(o, c, k) * in(b, c, t + k - pad) over
//    rows of `size` positions; one block per (sample, tile of 2T positions, tile of
//    kOutTile channels), T threads of two positions each, input rows and weights of a
//    chunk of input channels staged in shared memory. It runs
//      - the forward: in = u (gathered from x), epilogue bias + activation + code;
//      - the gradient at u, a transposed conv: in = the gradient at z (from grad_out
//        and code on the fly), W = the weight with channels swapped and taps flipped,
//        written in the accumulation type to a (B, C_in, size) scratch.
//  * scatter_sources_kernel: grad_x[b, c, i] = sum of the gradient at u over the
//    positions s that copy input i (a contiguous range, found by binary search), in a
//    fixed order: deterministic, no atomics.
//  * weight_grad_kernel + sum_partials_kernel: grad_w as a GEMM [cout] x [cin*K (+1
//    bias column)] reduced over (sample, position) in 32 x 32 tiles, the reduction
//    split over grid.z slices whose partial tiles are added in slice order.
#include <ATen/core/Tensor.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>
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


void check_inputs(const at::Tensor& x, const at::Tensor& weight, int64_t size, const char* op) {
  conv1d::check_conv_shapes(x, weight, op);
  TORCH_CHECK(size >= 1, op, ": size must be >= 1, got ", size);
  TORCH_CHECK(x.size(2) >= 1, op, ": x must have length >= 1, got ", x.size(2));
  TORCH_CHECK(x.size(2) < (int64_t(1) << 24) && size < (int64_t(1) << 24), op,
              ": the CUDA kernel takes lengths and sizes below 2^24 (float32 source indices), got ", x.size(2),
              " -> ", size);
  TORCH_CHECK(weight.size(2) <= kMaxKernel, op, ": the CUDA kernel supports kernel sizes up to ", kMaxKernel,
              ", got ", weight.size(2));
  const auto dtype = x.scalar_type();
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kDouble || dtype == at::kHalf || dtype == at::kBFloat16, op,
              ": x must be float32, float64, float16 or bfloat16, got ", dtype);
  TORCH_CHECK(weight.scalar_type() == dtype, op, ": weight has dtype ", weight.scalar_type(), ", expected ", dtype);
  TORCH_CHECK(x.is_cuda() && weight.device() == x.device(), op, ": the CUDA kernel needs x and weight on one CUDA ",
              "device, got ", x.device(), " and ", weight.device());
}

// torch's upsample_nearest1d source index (no scale factor given): the ratio L / size
// in float32, as in ATen's CUDA and CPU kernels.
struct Nearest {
  int64_t len, size;
  float scale;
};

Nearest make_nearest(int64_t len, int64_t size) {
  return {len, size, static_cast<float>(len) / static_cast<float>(size)};
}

__device__ __forceinline__ int64_t source_of(const Nearest& n, int64_t s) {
  if (n.size == n.len) return s;
  if (n.size == 2 * n.len) return s >> 1;
  const int64_t i = static_cast<int64_t>(floorf(static_cast<float>(s) * n.scale));
  return i < n.len - 1 ? i : n.len - 1;
}

// The gradient at z from that at the output: the activation's slope by the code's sign
// bit. A zero slope gives 0 (not 0 * g, which is NaN for an infinite g).
template <typename acc_t>
__device__ __forceinline__ acc_t grad_at_z(acc_t g, uint8_t code, acc_t neg) {
  if (code & 2) return g;
  return neg == acc_t(0) ? acc_t(0) : neg * g;
}

// The activation of z, rounded to scalar_t as the reference's separate op would be;
// relu(NaN) stays NaN, relu(-inf) is 0.
template <typename scalar_t, typename acc_t>
__device__ __forceinline__ acc_t activate(acc_t z, acc_t neg) {
  if (z > acc_t(0)) return z;
  if (neg == acc_t(0)) return z != z ? z : acc_t(0);
  return static_cast<acc_t>(static_cast<scalar_t>(neg * z));
}

template <typename scalar_t, typename acc_t>
struct UpConv {
  // out[b, o, t] = sum_{c < in_ch, k < kernel} W(o, c, k) * in(b, c, t + k - pad), t < size
  int64_t batch, in_ch, out_ch, size, kernel, pad;
  // W(o, c, k) = weight[o * w_out_stride + c * w_in_stride + (flip ? kernel - 1 - k : k)]
  const scalar_t* weight;
  int64_t w_out_stride, w_in_stride;
  bool flip;
  int chunk;  // input channels staged in shared memory at a time
  // the input: u gathered from x (rows of nearest.len), or, when go != nullptr, the
  // gradient at z from go and code (rows of size)
  const scalar_t* x;
  Nearest nearest;
  const scalar_t* go;
  const uint8_t* code;
  acc_t neg;  // the activation's slope where z <= 0
  // forward (out != nullptr): bias, activation, code; gradient: out_acc
  const scalar_t* bias;
  scalar_t* out;
  uint8_t* out_code;
  acc_t* out_acc;
};

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kMaxThreads) upconv_kernel(const UpConv<scalar_t, acc_t> p) {
  extern __shared__ __align__(sizeof(double)) unsigned char smem_raw[];
  acc_t* smem = reinterpret_cast<acc_t*>(smem_raw);
  const int T = blockDim.x, tid = threadIdx.x;
  const int64_t tiles = (p.size + 2 * T - 1) / (2 * T);
  const int64_t b = blockIdx.x / tiles;
  const int64_t t0 = (blockIdx.x % tiles) * 2 * T;
  const int o0 = blockIdx.y * kOutTile;
  const int K = static_cast<int>(p.kernel);
  const int span = 2 * T + K - 1;
  acc_t* xs = smem;                   // [chunk][span]
  acc_t* ws = smem + p.chunk * span;  // [chunk][K][kOutTile]

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
        if (s >= 0 && s < p.size) {
          if (p.go == nullptr) {
            v = static_cast<acc_t>(p.x[row * p.nearest.len + source_of(p.nearest, s)]);
          } else {
            v = grad_at_z(static_cast<acc_t>(p.go[row * p.size + s]), p.code[row * p.size + s], p.neg);
          }
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
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int64_t t = t0 + half * T + tid;
    if (t >= p.size) continue;
#pragma unroll
    for (int i = 0; i < kOutTile; ++i) {
      const int o = o0 + i;
      if (o >= p.out_ch) continue;
      const acc_t a = half == 0 ? acc0[i] : acc1[i];
      const int64_t idx = (b * p.out_ch + o) * p.size + t;
      if (p.out == nullptr) {
        p.out_acc[idx] = a;
        continue;
      }
      const acc_t bias = p.bias != nullptr ? static_cast<acc_t>(p.bias[o]) : acc_t(0);
      const acc_t z = static_cast<acc_t>(static_cast<scalar_t>(a + bias));
      p.out[idx] = static_cast<scalar_t>(activate<scalar_t>(z, p.neg));
      p.out_code[idx] = static_cast<uint8_t>((z > acc_t(0)) << 1);
    }
  }
}

template <typename scalar_t, typename acc_t>
void launch_upconv(UpConv<scalar_t, acc_t> p, const char* op) {
  const ConvLaunch l = plan_conv_launch<acc_t>(p.batch, p.size, p.kernel, p.in_ch, p.out_ch, op);
  p.chunk = l.chunk;
  upconv_kernel<scalar_t, acc_t><<<l.grid, l.threads, l.shared, c10::cuda::getCurrentCUDAStream()>>>(p);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

// --- the input gradient: the gradient at u summed onto the positions it was copied from

// The first position s in [0, size) whose source is >= i (size when none).
__device__ __forceinline__ int64_t first_position_from(const Nearest& n, int64_t i) {
  int64_t lo = 0, hi = n.size;
  while (lo < hi) {
    const int64_t mid = (lo + hi) >> 1;
    if (source_of(n, mid) < i) lo = mid + 1; else hi = mid;
  }
  return lo;
}

template <typename scalar_t, typename acc_t>
__global__ void scatter_sources_kernel(const acc_t* __restrict__ grad_u, scalar_t* __restrict__ grad_x, int64_t rows,
                                       const Nearest n) {
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= rows * n.len) return;
  const int64_t row = idx / n.len, i = idx - row * n.len;
  const acc_t* gu = grad_u + row * n.size;
  const int64_t end = first_position_from(n, i + 1);
  acc_t s = acc_t(0);
  for (int64_t t = first_position_from(n, i); t < end; ++t) s += gu[t];
  grad_x[idx] = static_cast<scalar_t>(s);
}

// --- weight gradient ----------------------------------------------------------------
// grad_w[o, n] = sum_{b, t} gz(b, o, t) * U(b, t, n) with n = c * K + k and
// U(b, t, n) = u[b, c, t + k - pad] (0 outside the row); with a bias, one more column
// n = cin * K of ones gives grad_b. A 32 x 32 tile of (o, n) per block, 64 threads of
// 4 x 4 outputs; grid.z splits the (b, t) reduction.


template <typename scalar_t, typename acc_t>
struct WeightGrad {
  int64_t batch, cin, cout, size, kernel, pad, cols;  // cols = cin * K (+1 with a bias)
  int64_t r_chunk;                                    // (b, t) pairs per grid.z slice
  Nearest nearest;
  acc_t neg;
  const scalar_t* x;
  const scalar_t* go;
  const uint8_t* code;
  acc_t* partial;  // [gridDim.z][cout][cols]
};

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kGemmThreads) weight_grad_kernel(const WeightGrad<scalar_t, acc_t> p) {
  __shared__ acc_t gz_tile[kTileR][kTileM + 1];  // +1: the loads walk down columns
  __shared__ acc_t u_tile[kTileR][kTileN + 1];
  const int tid = threadIdx.x, tm = tid / 8, tn = tid % 8;
  const int64_t m0 = blockIdx.y * int64_t(kTileM), n0 = blockIdx.x * int64_t(kTileN);
  const int64_t total = p.batch * p.size;
  const int64_t r_begin = blockIdx.z * p.r_chunk, r_end = min(total, r_begin + p.r_chunk);
  const int64_t taps = p.cin * p.kernel;
  acc_t acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = acc_t(0);

  // each thread stages position slot rr of every r tile, for the channels (gz) and
  // taps (u) lane_group + 4 i, whose (channel, shift) are worked out once here
  const int rr = tid % kTileR, lane_group = tid / kTileR;
  int64_t tap_row[kLoadsPerThread];  // c * len, or -1 for the bias column / no column
  int tap_shift[kLoadsPerThread];    // k - pad
#pragma unroll
  for (int i = 0; i < kLoadsPerThread; ++i) {
    const int64_t n = n0 + lane_group + kGroups * i;
    const int64_t c = n / p.kernel;
    tap_row[i] = n < taps ? c * p.nearest.len : -1;
    tap_shift[i] = static_cast<int>(n - c * p.kernel - p.pad);
  }
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kTileR) {
    const int64_t r = r0 + rr;
    const bool in_range = r < r_end;
    const int64_t b = in_range ? r / p.size : 0, t = r - b * p.size;
#pragma unroll
    for (int i = 0; i < kLoadsPerThread; ++i) {
      const int m = lane_group + kGroups * i;
      const int64_t o = m0 + m;
      acc_t v = acc_t(0);
      if (in_range && o < p.cout) {
        const int64_t idx = (b * p.cout + o) * p.size + t;
        v = grad_at_z(static_cast<acc_t>(p.go[idx]), p.code[idx], p.neg);
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
          if (s >= 0 && s < p.size)
            v = static_cast<acc_t>(p.x[b * p.cin * p.nearest.len + tap_row[i] + source_of(p.nearest, s)]);
        }
      }
      u_tile[rr][nl] = v;
    }
    __syncthreads();
    gemm_tile_fma(gz_tile, u_tile, tm, tn, acc);
    __syncthreads();
  }
  store_partial_tile(p.partial, p.cout, p.cols, m0, n0, tm, tn, acc);
}


// --- the ops ------------------------------------------------------------------------

std::tuple<at::Tensor, at::Tensor> upconv1d_block_forward_cuda(const at::Tensor& x_in, const at::Tensor& weight_in,
                                                               const std::optional<at::Tensor>& bias_in, int64_t size,
                                                               c10::string_view activation, double negative_slope) {
  const char* op = "upconv1d_block_forward";
  check_inputs(x_in, weight_in, size, op);
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
  auto out = at::empty({batch, cout, size}, x.options());
  auto code = at::empty({batch, cout, size}, x.options().dtype(at::kByte));
  if (out.numel() == 0) return {out, code};
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "upconv1d_block_forward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    UpConv<scalar_t, acc_t> p{};
    p.batch = batch, p.in_ch = cin, p.out_ch = cout, p.size = size, p.kernel = kernel, p.pad = kernel / 2;
    p.weight = weight.data_ptr<scalar_t>(), p.w_out_stride = cin * kernel, p.w_in_stride = kernel, p.flip = false;
    p.x = x.data_ptr<scalar_t>(), p.nearest = make_nearest(len, size), p.go = nullptr, p.code = nullptr;
    p.neg = static_cast<acc_t>(negative_side_slope(act, negative_slope));
    p.bias = has_bias ? bias.data_ptr<scalar_t>() : nullptr;
    p.out = out.data_ptr<scalar_t>(), p.out_code = code.data_ptr<uint8_t>(), p.out_acc = nullptr;
    launch_upconv(p, op);
  });
  return {out, code};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> upconv1d_block_backward_cuda(
    const at::Tensor& grad_out_in, const at::Tensor& x_in, const at::Tensor& weight_in, const at::Tensor& code_in,
    int64_t size, c10::string_view activation, double negative_slope, bool has_bias) {
  const char* op = "upconv1d_block_backward";
  check_inputs(x_in, weight_in, size, op);
  const Act act = parse_activation(activation, op);
  const int64_t batch = x_in.size(0), cin = x_in.size(1), len = x_in.size(2);
  const int64_t cout = weight_in.size(0), kernel = weight_in.size(2);
  const std::vector<int64_t> out_shape{batch, cout, size};
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
  if (batch == 0 || cout == 0) {  // nothing flows back: zero gradients
    grad_x.zero_(), grad_w.zero_(), grad_b.zero_();
    return {grad_x, grad_w, grad_b};
  }
  auto stream = c10::cuda::getCurrentCUDAStream();
  const Nearest nearest = make_nearest(len, size);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "upconv1d_block_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto acc_dtype = c10::CppTypeToScalarType<acc_t>::value;
    const acc_t neg = static_cast<acc_t>(negative_side_slope(act, negative_slope));
    // 1. input gradient: the transposed conv of gz at the upsampled positions, then
    //    each input's share summed back
    if (cin > 0) {
      auto grad_u = at::empty({batch, cin, size}, x.options().dtype(acc_dtype));
      UpConv<scalar_t, acc_t> p{};
      p.batch = batch, p.in_ch = cout, p.out_ch = cin, p.size = size, p.kernel = kernel, p.pad = kernel / 2;
      p.weight = weight.data_ptr<scalar_t>(), p.w_out_stride = kernel, p.w_in_stride = cin * kernel, p.flip = true;
      p.x = nullptr, p.nearest = nearest, p.go = go.data_ptr<scalar_t>(), p.code = code.data_ptr<uint8_t>();
      p.neg = neg, p.bias = nullptr, p.out = nullptr, p.out_code = nullptr, p.out_acc = grad_u.data_ptr<acc_t>();
      launch_upconv(p, op);
      const int64_t n = batch * cin * len;
      scatter_sources_kernel<scalar_t, acc_t><<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(
          grad_u.data_ptr<acc_t>(), grad_x.data_ptr<scalar_t>(), batch * cin, nearest);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    // 2. weight and bias gradients: split reduction, then a fixed-order sum
    WeightGrad<scalar_t, acc_t> q{};
    q.batch = batch, q.cin = cin, q.cout = cout, q.size = size, q.kernel = kernel, q.pad = kernel / 2;
    q.cols = cin * kernel + (has_bias ? 1 : 0), q.nearest = nearest, q.neg = neg;
    q.x = x.data_ptr<scalar_t>(), q.go = go.data_ptr<scalar_t>(), q.code = code.data_ptr<uint8_t>();
    if (q.cols == 0) return;
    const GemmLaunch g = plan_weight_grad(cout, q.cols, batch * size, op);
    q.r_chunk = g.r_chunk;
    const int64_t slices = g.slices;
    auto partial = at::empty({slices, cout, q.cols}, x.options().dtype(acc_dtype));
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
  m.impl("upconv1d_block_forward", &upconv1d_block_forward_cuda);
  m.impl("upconv1d_block_backward", &upconv1d_block_backward_cuda);
}

}  // namespace genreg
