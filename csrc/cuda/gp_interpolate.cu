// CUDA kernel for genreg::gp_interpolate: out = fake + eps[b] * (real - fake),
// float32 accumulation for half and bfloat16 inputs.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

namespace genreg {
namespace {

template <typename scalar_t>
__global__ void gp_interpolate_kernel(const scalar_t* __restrict__ real, const scalar_t* __restrict__ fake,
                                      const scalar_t* __restrict__ eps, scalar_t* __restrict__ out,
                                      int64_t numel, int64_t per_sample) {
  using acc_t = at::opmath_type<scalar_t>;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < numel;
       i += (int64_t)blockDim.x * gridDim.x) {
    const acc_t w = static_cast<acc_t>(eps[i / per_sample]);
    const acc_t f = static_cast<acc_t>(fake[i]);
    out[i] = static_cast<scalar_t>(f + w * (static_cast<acc_t>(real[i]) - f));
  }
}

at::Tensor gp_interpolate_cuda(const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps) {
  TORCH_CHECK(real.dim() >= 1, "gp_interpolate: real must have a batch dimension, got a 0-d tensor");
  TORCH_CHECK(real.sizes() == fake.sizes(), "gp_interpolate: real and fake shapes differ: ",
              real.sizes(), " vs ", fake.sizes());
  TORCH_CHECK(real.scalar_type() == fake.scalar_type() && real.scalar_type() == eps.scalar_type(),
              "gp_interpolate: real, fake and eps must share a dtype");
  TORCH_CHECK(eps.numel() == real.size(0), "gp_interpolate: eps needs one value per sample (",
              real.size(0), "), got ", eps.numel());
  TORCH_CHECK(fake.is_cuda() && eps.is_cuda() && real.device() == fake.device() && real.device() == eps.device(),
              "gp_interpolate: real, fake and eps must be on one CUDA device");
  const c10::cuda::CUDAGuard guard(real.device());
  auto r = real.contiguous();
  auto f = fake.contiguous();
  auto e = eps.contiguous();
  auto out = at::empty_like(r);
  const int64_t numel = r.numel();
  if (numel == 0) return out;
  const int64_t per_sample = numel / r.size(0);
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((numel + threads - 1) / threads, 65535LL * 8);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, r.scalar_type(), "gp_interpolate_cuda", [&] {
    gp_interpolate_kernel<scalar_t><<<blocks, threads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        r.data_ptr<scalar_t>(), f.data_ptr<scalar_t>(), e.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
        numel, per_sample);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CUDA, m) { m.impl("gp_interpolate", &gp_interpolate_cuda); }

}  // namespace genreg
