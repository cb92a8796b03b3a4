// CUDA kernels for genreg::grad_penalty and genreg::grad_penalty_backward (math in
// ../grad_penalty_math.h). float32 accumulation for half/bfloat16/float inputs,
// float64 for double.
//
// Layout: grid (B, chunks). With enough samples to fill the GPU, chunks == 1: one
// block per sample reduces it and, in the backward, scales it in the same kernel
// (the second read of the sample hits L2) -- one launch per direction. With few
// long samples each sample is split over `chunks` blocks: a reduction kernel writes
// partial sums, then a second kernel finishes (forward) or scales (backward).
// Threads stride through a sample, so the loads of a warp are coalesced.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

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

// chunks == 1: writes the penalty; else the chunk's partial sum.
template <typename scalar_t, typename acc_t>
__global__ void sumsq_kernel(const scalar_t* __restrict__ g, int64_t n, int64_t chunk_len,
                             PenaltyMode<acc_t> mode, acc_t* __restrict__ partial, scalar_t* __restrict__ out) {
  const int64_t b = blockIdx.x, c = blockIdx.y;
  const int64_t begin = c * chunk_len, end = min(n, begin + chunk_len);
  const acc_t s = chunk_sumsq<scalar_t, acc_t>(g + b * n, begin, end);
  if (threadIdx.x != 0) return;
  if (gridDim.y == 1) {
    out[b] = static_cast<scalar_t>(mode.value(s));
  } else {
    partial[b * gridDim.y + c] = s;
  }
}

template <typename scalar_t, typename acc_t>
__global__ void finish_kernel(const acc_t* __restrict__ partial, int64_t chunks, int64_t batch,
                              PenaltyMode<acc_t> mode, scalar_t* __restrict__ out) {
  const int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (b >= batch) return;
  acc_t s = 0;
  for (int64_t c = 0; c < chunks; ++c) s += partial[b * chunks + c];
  out[b] = static_cast<scalar_t>(mode.value(s));
}

// partial == nullptr: one block per sample, which reduces the sample first.
template <typename scalar_t, typename acc_t>
__global__ void backward_kernel(const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ g, int64_t n,
                                int64_t chunk_len, PenaltyMode<acc_t> mode, const acc_t* __restrict__ partial,
                                scalar_t* __restrict__ out) {
  __shared__ acc_t coef;
  const int64_t b = blockIdx.x, c = blockIdx.y;
  const int64_t begin = c * chunk_len, end = min(n, begin + chunk_len);
  const scalar_t* row = g + b * n;
  acc_t s = 0;
  if (partial == nullptr) {
    s = chunk_sumsq<scalar_t, acc_t>(row, 0, n);
  } else if (threadIdx.x == 0) {
    for (int64_t k = 0; k < gridDim.y; ++k) s += partial[b * gridDim.y + k];
  }
  if (threadIdx.x == 0) coef = static_cast<acc_t>(grad_out[b]) * mode.coefficient(s);
  __syncthreads();
  const acc_t a = coef;
  scalar_t* orow = out + b * n;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    orow[i] = static_cast<scalar_t>(a * static_cast<acc_t>(row[i]));
  }
}

void check_grads(const at::Tensor& grads, const char* op) {
  check_grad_penalty_grads(grads, at::kCUDA, op);
  TORCH_CHECK(grads.size(0) <= 2147483647LL, op, ": at most 2^31 - 1 samples per call on CUDA, got ", grads.size(0));
}

at::Tensor grad_penalty_cuda(const at::Tensor& grads, c10::string_view mode, double center, double p) {
  check_grads(grads, "grad_penalty");
  const c10::cuda::CUDAGuard guard(grads.device());
  auto g = grads.contiguous();
  const int64_t batch = g.size(0);
  const int64_t n = batch == 0 ? 0 : g.numel() / batch;
  auto out = at::empty({batch}, g.options());
  if (batch == 0) return out;
  const Split split = split_samples(batch, n);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "grad_penalty_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto pm = parse_penalty_mode<acc_t>(mode, center, p, "grad_penalty");
    at::Tensor partial;
    acc_t* partial_ptr = nullptr;
    if (split.chunks > 1) {
      partial = at::empty({batch * split.chunks}, g.options().dtype(c10::CppTypeToScalarType<acc_t>::value));
      partial_ptr = partial.data_ptr<acc_t>();
    }
    const dim3 grid(batch, split.chunks);
    sumsq_kernel<scalar_t, acc_t><<<grid, kThreads, 0, stream>>>(g.data_ptr<scalar_t>(), n, split.chunk_len, pm,
                                                                 partial_ptr, out.data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (split.chunks > 1) {
      finish_kernel<scalar_t, acc_t><<<(batch + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
          partial_ptr, split.chunks, batch, pm, out.data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return out;
}

at::Tensor grad_penalty_backward_cuda(const at::Tensor& grad_out, const at::Tensor& grads, c10::string_view mode,
                                      double center, double p) {
  check_grads(grads, "grad_penalty_backward");
  check_grad_penalty_grad_out(grad_out, grads, "grad_penalty_backward");
  const c10::cuda::CUDAGuard guard(grads.device());
  auto g = grads.contiguous();
  auto go = grad_out.contiguous();
  const int64_t batch = g.size(0);
  const int64_t n = batch == 0 ? 0 : g.numel() / batch;
  auto out = at::empty_like(g);
  if (g.numel() == 0) return out;
  const Split split = split_samples(batch, n);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "grad_penalty_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto pm = parse_penalty_mode<acc_t>(mode, center, p, "grad_penalty_backward");
    at::Tensor partial;
    acc_t* partial_ptr = nullptr;
    const dim3 grid(batch, split.chunks);
    if (split.chunks > 1) {
      partial = at::empty({batch * split.chunks}, g.options().dtype(c10::CppTypeToScalarType<acc_t>::value));
      partial_ptr = partial.data_ptr<acc_t>();
      sumsq_kernel<scalar_t, acc_t><<<grid, kThreads, 0, stream>>>(g.data_ptr<scalar_t>(), n, split.chunk_len, pm,
                                                                   partial_ptr, nullptr);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    backward_kernel<scalar_t, acc_t><<<grid, kThreads, 0, stream>>>(go.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), n,
                                                                    split.chunk_len, pm, partial_ptr,
                                                                    out.data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CUDA, m) {
  m.impl("grad_penalty", &grad_penalty_cuda);
  m.impl("grad_penalty_backward", &grad_penalty_backward_cuda);
}

}  // namespace genreg
