// CUDA kernels for the gradient-penalty pair genreg::grad_penalty_forward (the
// per-sample penalty and sum of squares s, float64) and genreg::grad_penalty_backward
// (dg = grad_out h(s) g, from the saved s: one read and one write of g). The math is
// in ../grad_penalty_math.h. float32 accumulation for half/bfloat16/float inputs,
// float64 for double.
//
// Forward layout: grid (B, chunks). With enough samples to fill the GPU, chunks == 1:
// one block per sample reduces it and writes its penalty and s. With few long
// samples each sample is split over `chunks` blocks writing partial sums, and a
// second kernel finishes. Threads stride through a sample, so the loads of a warp
// are coalesced. The backward is elementwise (grid-stride over all of g).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../grad_penalty_checks.h"
#include "../grad_penalty_math.h"
#include "block_reduce.cuh"

namespace genreg {
namespace {

constexpr int kThreads = 256;

struct Split {
  int64_t chunks;
  int64_t chunk_len;
};

// Enough blocks for about 4 per SM, none with fewer than 8 elements per thread.
Split split_samples(int64_t batch, int64_t n) {
  int sms = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, c10::cuda::current_device()));
  const int64_t want = std::max<int64_t>(1, (4 * static_cast<int64_t>(sms) + batch - 1) / batch);
  const int64_t most = std::max<int64_t>(1, n / (kThreads * 8));
  const int64_t chunks = std::min<int64_t>({want, most, 65535});
  return {chunks, (n + chunks - 1) / chunks};
}

template <typename scalar_t, typename acc_t>
__device__ acc_t chunk_sumsq(const scalar_t* __restrict__ row, int64_t begin, int64_t end) {
  acc_t acc = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const acc_t v = static_cast<acc_t>(row[i]);
    acc += v * v;
  }
  return block_sum(acc);
}

// chunks == 1: writes the penalty and s; else the chunk's partial sum.
template <typename scalar_t, typename acc_t>
__global__ void sumsq_kernel(const scalar_t* __restrict__ g, int64_t n, int64_t chunk_len,
                             PenaltyMode<acc_t> mode, acc_t* __restrict__ partial, scalar_t* __restrict__ out,
                             double* __restrict__ sumsq) {
  const int64_t b = blockIdx.x, c = blockIdx.y;
  const int64_t begin = c * chunk_len, end = min(n, begin + chunk_len);
  const acc_t s = chunk_sumsq<scalar_t, acc_t>(g + b * n, begin, end);
  if (threadIdx.x != 0) return;
  if (gridDim.y == 1) {
    out[b] = static_cast<scalar_t>(mode.value(s));
    sumsq[b] = static_cast<double>(s);
  } else {
    partial[b * gridDim.y + c] = s;
  }
}

template <typename scalar_t, typename acc_t>
__global__ void finish_kernel(const acc_t* __restrict__ partial, int64_t chunks, int64_t batch,
                              PenaltyMode<acc_t> mode, scalar_t* __restrict__ out, double* __restrict__ sumsq) {
  const int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (b >= batch) return;
  acc_t s = 0;
  for (int64_t c = 0; c < chunks; ++c) s += partial[b * chunks + c];
  out[b] = static_cast<scalar_t>(mode.value(s));
  sumsq[b] = static_cast<double>(s);
}

// out[i] = grad_out[b] h(s[b]) g[i], b = i / n; the coefficient in acc_t, as the
// forward's math, from s rounded to acc_t.
template <typename scalar_t, typename acc_t>
__global__ void backward_kernel(const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ g,
                                const double* __restrict__ sumsq, int64_t numel, int64_t n, PenaltyMode<acc_t> mode,
                                scalar_t* __restrict__ out) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < numel; i += (int64_t)blockDim.x * gridDim.x) {
    const int64_t b = i / n;
    const acc_t a = static_cast<acc_t>(grad_out[b]) * mode.coefficient(static_cast<acc_t>(sumsq[b]));
    out[i] = static_cast<scalar_t>(a * static_cast<acc_t>(g[i]));
  }
}

void check_grads(const at::Tensor& grads, const char* op) {
  check_grad_penalty_grads(grads, at::kCUDA, op);
  TORCH_CHECK(grads.size(0) <= 2147483647LL, op, ": at most 2^31 - 1 samples per call on CUDA, got ", grads.size(0));
}

std::tuple<at::Tensor, at::Tensor> grad_penalty_forward_cuda(const at::Tensor& grads, c10::string_view mode,
                                                             double center, double p) {
  const char* op = "grad_penalty_forward";
  check_grads(grads, op);
  const c10::cuda::CUDAGuard guard(grads.device());
  auto g = grads.contiguous();
  const int64_t batch = g.size(0);
  const int64_t n = batch == 0 ? 0 : g.numel() / batch;
  auto out = at::empty({batch}, g.options());
  auto sumsq = at::empty({batch}, g.options().dtype(at::kDouble));
  if (batch == 0) {
    parse_penalty_mode<double>(mode, center, p, op);  // bad arguments fail on any shape
    return {out, sumsq};
  }
  const Split split = split_samples(batch, n);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "grad_penalty_forward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto pm = parse_penalty_mode<acc_t>(mode, center, p, op);
    at::Tensor partial;
    acc_t* partial_ptr = nullptr;
    if (split.chunks > 1) {
      partial = at::empty({batch * split.chunks}, g.options().dtype(c10::CppTypeToScalarType<acc_t>::value));
      partial_ptr = partial.data_ptr<acc_t>();
    }
    const dim3 grid(batch, split.chunks);
    sumsq_kernel<scalar_t, acc_t><<<grid, kThreads, 0, stream>>>(g.data_ptr<scalar_t>(), n, split.chunk_len, pm,
                                                                 partial_ptr, out.data_ptr<scalar_t>(),
                                                                 sumsq.data_ptr<double>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (split.chunks > 1) {
      finish_kernel<scalar_t, acc_t><<<(batch + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
          partial_ptr, split.chunks, batch, pm, out.data_ptr<scalar_t>(), sumsq.data_ptr<double>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return {out, sumsq};
}

at::Tensor grad_penalty_backward_cuda(const at::Tensor& grad_out, const at::Tensor& grads, const at::Tensor& sumsq,
                                      c10::string_view mode, double center, double p) {
  const char* op = "grad_penalty_backward";
  check_grads(grads, op);
  parse_penalty_mode<double>(mode, center, p, op);
  check_grad_penalty_grad_out(grad_out, grads, op);
  check_grad_penalty_sumsq(sumsq, grads, op);
  const c10::cuda::CUDAGuard guard(grads.device());
  auto g = grads.contiguous();
  auto go = grad_out.contiguous();
  auto s = sumsq.contiguous();
  const int64_t numel = g.numel();
  auto out = at::empty_like(g);
  if (numel == 0) return out;  // no grid of 0 blocks
  const int64_t n = numel / g.size(0);
  const int64_t blocks = std::min<int64_t>((numel + kThreads - 1) / kThreads, 65535LL * 8);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "grad_penalty_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto pm = parse_penalty_mode<acc_t>(mode, center, p, op);
    backward_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        go.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), s.data_ptr<double>(), numel, n, pm,
        out.data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CUDA, m) {
  m.impl("grad_penalty_forward", &grad_penalty_forward_cuda);
  m.impl("grad_penalty_backward", &grad_penalty_backward_cuda);
}

}  // namespace genreg
