// CPU kernel for genreg::gp_interpolate: out = fake + eps[b] * (real - fake).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <type_traits>

#include "loops.h"

namespace genreg {
namespace {

void check_inputs(const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps) {
  TORCH_CHECK(real.dim() >= 1, "gp_interpolate: real must have a batch dimension, got a 0-d tensor");
  TORCH_CHECK(real.sizes() == fake.sizes(), "gp_interpolate: real and fake shapes differ: ",
              real.sizes(), " vs ", fake.sizes());
  TORCH_CHECK(real.scalar_type() == fake.scalar_type() && real.scalar_type() == eps.scalar_type(),
              "gp_interpolate: real, fake and eps must share a dtype, got ", real.scalar_type(), ", ",
              fake.scalar_type(), ", ", eps.scalar_type());
  TORCH_CHECK(eps.numel() == real.size(0), "gp_interpolate: eps needs one value per sample (",
              real.size(0), "), got ", eps.numel());
  TORCH_CHECK(real.device() == fake.device() && real.device() == eps.device(),
              "gp_interpolate: real, fake and eps must be on one device");
}

// out = from + w (to - from); float and double through the vectorised, ISA-dispatched loop.
template <typename scalar_t, typename acc_t>
void lerp_row(const scalar_t* from, const scalar_t* to, acc_t w, scalar_t* out, int64_t n) {
  if constexpr (std::is_same_v<scalar_t, float> || std::is_same_v<scalar_t, double>) {
    loops::lerp(from, to, w, out, n);
  } else {
    for (int64_t j = 0; j < n; ++j) {
      const acc_t fv = static_cast<acc_t>(from[j]);
      out[j] = static_cast<scalar_t>(fv + w * (static_cast<acc_t>(to[j]) - fv));
    }
  }
}

at::Tensor gp_interpolate_cpu(const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps) {
  check_inputs(real, fake, eps);
  auto r = real.contiguous();
  auto f = fake.contiguous();
  auto e = eps.contiguous();
  auto out = at::empty_like(r);
  const int64_t batch = r.size(0);
  const int64_t per_sample = batch == 0 ? 0 : r.numel() / batch;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, r.scalar_type(), "gp_interpolate_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* rp = r.data_ptr<scalar_t>();
    const scalar_t* fp = f.data_ptr<scalar_t>();
    const scalar_t* ep = e.data_ptr<scalar_t>();
    scalar_t* op = out.data_ptr<scalar_t>();
    // Flat parallel range so that batch 1 with a long sample still uses every thread.
    at::parallel_for(0, r.numel(), 16384, [&](int64_t begin, int64_t end) {
      int64_t i = begin;
      while (i < end) {
        const int64_t b = i / per_sample;
        const int64_t row_end = std::min(end, (b + 1) * per_sample);
        lerp_row(fp + i, rp + i, static_cast<acc_t>(ep[b]), op + i, row_end - i);
        i = row_end;
      }
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CPU, m) { m.impl("gp_interpolate", &gp_interpolate_cpu); }

}  // namespace genreg
