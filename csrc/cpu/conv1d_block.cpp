// CPU kernels for genreg::conv1d_block_forward / conv1d_block_backward:
//   z = conv1d(x, weight, 'same' padding K/2, stride 1) + bias
//   a = activation(z)            relu | leaky_relu(negative_slope) | none
//   y = max_pool1d(a, 2)         (floor; optional)
// The forward also returns a uint8 code per output: bit 0 = which of the pooled pair
// won (the first on ties, like torch), bit 1 = z > 0 there. The backward needs only
// that code, x and weight -- no pre-activation tensor is stored.
//
// Work is split over (sample, channel) rows with at::parallel_for (OpenMP); the
// inner loops are the multiversioned vector loops of loops.h.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <string>
#include <tuple>
#include <vector>

#include "loops.h"

namespace genreg {
namespace {

enum class Act { relu, leaky_relu, none };

Act parse_activation(c10::string_view name, const char* op) {
  if (name == c10::string_view("relu")) return Act::relu;
  if (name == c10::string_view("leaky_relu")) return Act::leaky_relu;
  if (name == c10::string_view("none")) return Act::none;
  TORCH_CHECK(false, op, ": unknown activation '", std::string(name.data(), name.size()),
              "'; choose relu, leaky_relu or none");
}

// d activation / d z where z <= 0 (it is 1 where z > 0).
double negative_side_slope(Act act, double negative_slope) {
  return act == Act::relu ? 0.0 : act == Act::leaky_relu ? negative_slope : 1.0;
}

void check_conv_inputs(const at::Tensor& x, const at::Tensor& weight, const char* op) {
  TORCH_CHECK(x.dim() == 3, op, ": x must be (batch, channels, length), got shape ", x.sizes());
  TORCH_CHECK(weight.dim() == 3, op, ": weight must be (out_channels, in_channels, kernel), got shape ",
              weight.sizes());
  TORCH_CHECK(weight.size(1) == x.size(1), op, ": weight expects ", weight.size(1), " input channels, x has ",
              x.size(1));
  TORCH_CHECK(weight.size(2) % 2 == 1, op, ": kernel size must be odd for 'same' padding, got ", weight.size(2));
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, op,
              ": x must be float32 or float64, got ", x.scalar_type());
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), op, ": weight has dtype ", weight.scalar_type(), ", expected ",
              x.scalar_type());
  TORCH_CHECK(x.device().is_cpu() && weight.device().is_cpu(), op, ": the CPU kernel got tensors on ", x.device(),
              " and ", weight.device());
}

// z[0:L] += sum_{c,k} w[c,k] * x[c, t + k - pad]  (one output channel of one sample)
template <typename scalar_t>
void conv_row(const scalar_t* x, const scalar_t* w, int64_t cin, int64_t len, int64_t kernel, scalar_t* z) {
  const int64_t pad = kernel / 2;
  for (int64_t c = 0; c < cin; ++c) {
    const scalar_t* xr = x + c * len;
    for (int64_t k = 0; k < kernel; ++k) {
      const int64_t shift = k - pad;
      const int64_t t0 = std::max<int64_t>(0, -shift), t1 = std::min<int64_t>(len, len - shift);
      if (t1 > t0) loops::axpy(xr + t0 + shift, w[c * kernel + k], z + t0, t1 - t0);
    }
  }
}

std::tuple<at::Tensor, at::Tensor> conv1d_block_forward_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
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
    TORCH_CHECK(bias_in->scalar_type() == x_in.scalar_type() && bias_in->device().is_cpu(), op,
                ": bias must be a CPU tensor of dtype ", x_in.scalar_type());
  }
  auto x = x_in.contiguous();
  auto weight = weight_in.contiguous();
  const int64_t batch = x.size(0), cin = x.size(1), len = x.size(2);
  const int64_t cout = weight.size(0), kernel = weight.size(2);
  TORCH_CHECK(!pool || len >= 2, op, ": max-pool 2 needs length >= 2, got ", len);
  const int64_t out_len = pool ? len / 2 : len;
  auto out = at::empty({batch, cout, out_len}, x.options());
  auto code = at::empty({batch, cout, out_len}, x.options().dtype(at::kByte));
  at::Tensor bias = has_bias ? bias_in->contiguous() : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "conv1d_block_forward_cpu", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* wp = weight.data_ptr<scalar_t>();
    const scalar_t* bp = has_bias ? bias.data_ptr<scalar_t>() : nullptr;
    scalar_t* yp = out.data_ptr<scalar_t>();
    uint8_t* cp = code.data_ptr<uint8_t>();
    const scalar_t neg = static_cast<scalar_t>(negative_side_slope(act, negative_slope));
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cin * kernel * len));
    at::parallel_for(0, batch * cout, grain, [&](int64_t r0, int64_t r1) {
      std::vector<scalar_t> z(len);
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / cout, o = r % cout;
        std::fill(z.begin(), z.end(), bp ? bp[o] : scalar_t(0));
        conv_row(xp + b * cin * len, wp + o * cin * kernel, cin, len, kernel, z.data());
        scalar_t* y = yp + r * out_len;
        uint8_t* c = cp + r * out_len;
        if (pool) {
          for (int64_t j = 0; j < out_len; ++j) {
            const scalar_t z0 = z[2 * j], z1 = z[2 * j + 1];
            const scalar_t a0 = z0 > 0 ? z0 : neg * z0, a1 = z1 > 0 ? z1 : neg * z1;
            const bool second = a1 > a0 || (a1 != a1);  // first wins ties; NaN propagates
            y[j] = second ? a1 : a0;
            c[j] = static_cast<uint8_t>(second) | static_cast<uint8_t>(((second ? z1 : z0) > 0) << 1);
          }
        } else {
          for (int64_t t = 0; t < len; ++t) {
            y[t] = z[t] > 0 ? z[t] : neg * z[t];
            c[t] = static_cast<uint8_t>((z[t] > 0) << 1);
          }
        }
      }
    });
  });
  return {out, code};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv1d_block_backward_cpu(
    const at::Tensor& grad_out_in, const at::Tensor& x_in, const at::Tensor& weight_in, const at::Tensor& code_in,
    c10::string_view activation, double negative_slope, bool pool, bool has_bias) {
  const char* op = "conv1d_block_backward";
  check_conv_inputs(x_in, weight_in, op);
  const Act act = parse_activation(activation, op);
  const int64_t batch = x_in.size(0), cin = x_in.size(1), len = x_in.size(2);
  const int64_t cout = weight_in.size(0), kernel = weight_in.size(2), pad = kernel / 2;
  const int64_t out_len = pool ? len / 2 : len;
  const std::vector<int64_t> out_shape{batch, cout, out_len};
  TORCH_CHECK(grad_out_in.sizes() == c10::IntArrayRef(out_shape), op, ": grad_out must have shape ",
              c10::IntArrayRef(out_shape), ", got ", grad_out_in.sizes());
  TORCH_CHECK(code_in.sizes() == c10::IntArrayRef(out_shape) && code_in.scalar_type() == at::kByte, op,
              ": code must be uint8 of shape ", c10::IntArrayRef(out_shape));
  TORCH_CHECK(grad_out_in.scalar_type() == x_in.scalar_type(), op, ": grad_out has dtype ",
              grad_out_in.scalar_type(), ", expected ", x_in.scalar_type());
  auto go = grad_out_in.contiguous();
  auto x = x_in.contiguous();
  auto weight = weight_in.contiguous();
  auto code = code_in.contiguous();
  auto gz = at::empty({batch, cout, len}, x.options());
  auto grad_x = at::empty_like(x);
  auto grad_w = at::empty_like(weight);
  auto grad_b = has_bias ? at::empty({cout}, x.options()) : at::empty({0}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "conv1d_block_backward_cpu", [&] {
    const scalar_t* gop = go.data_ptr<scalar_t>();
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* wp = weight.data_ptr<scalar_t>();
    const uint8_t* cp = code.data_ptr<uint8_t>();
    scalar_t* gzp = gz.data_ptr<scalar_t>();
    const scalar_t neg = static_cast<scalar_t>(negative_side_slope(act, negative_slope));
    // 1. gradient at the pre-activation z, one (sample, out-channel) row at a time
    at::parallel_for(0, batch * cout, std::max<int64_t>(1, 32768 / len), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        scalar_t* g = gzp + r * len;
        const scalar_t* gy = gop + r * out_len;
        const uint8_t* c = cp + r * out_len;
        if (pool) {
          std::fill(g, g + len, scalar_t(0));
          for (int64_t j = 0; j < out_len; ++j) g[2 * j + (c[j] & 1)] = (c[j] & 2) ? gy[j] : neg * gy[j];
        } else {
          for (int64_t t = 0; t < len; ++t) g[t] = (c[t] & 2) ? gy[t] : neg * gy[t];
        }
      }
    });
    // 2. weight and bias gradients: one output channel per task, summed over samples
    scalar_t* gwp = grad_w.data_ptr<scalar_t>();
    scalar_t* gbp = has_bias ? grad_b.data_ptr<scalar_t>() : nullptr;
    at::parallel_for(0, cout * cin, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, batch * kernel * len)),
                     [&](int64_t t0_, int64_t t1_) {
      for (int64_t t = t0_; t < t1_; ++t) {
        const int64_t o = t / cin, c = t % cin;
        for (int64_t k = 0; k < kernel; ++k) {
          const int64_t shift = k - pad;
          const int64_t s0 = std::max<int64_t>(0, -shift), s1 = std::min<int64_t>(len, len - shift);
          scalar_t acc = 0;
          if (s1 > s0)
            for (int64_t b = 0; b < batch; ++b)
              acc += loops::dot(gzp + (b * cout + o) * len + s0, xp + (b * cin + c) * len + s0 + shift, s1 - s0);
          gwp[(o * cin + c) * kernel + k] = acc;
        }
        if (gbp && c == 0) {
          scalar_t acc = 0;
          for (int64_t b = 0; b < batch; ++b) {
            const scalar_t* g = gzp + (b * cout + o) * len;
            for (int64_t s = 0; s < len; ++s) acc += g[s];
          }
          gbp[o] = acc;
        }
      }
    });
    // 3. input gradient: grad_x[b, c, t + shift] += w[o, c, k] * gz[b, o, t]
    scalar_t* gxp = grad_x.data_ptr<scalar_t>();
    at::parallel_for(0, batch * cin, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cout * kernel * len)),
                     [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / cin, c = r % cin;
        scalar_t* gx = gxp + r * len;
        std::fill(gx, gx + len, scalar_t(0));
        for (int64_t o = 0; o < cout; ++o) {
          const scalar_t* g = gzp + (b * cout + o) * len;
          for (int64_t k = 0; k < kernel; ++k) {
            const int64_t shift = k - pad;
            const int64_t t0 = std::max<int64_t>(0, -shift), t1 = std::min<int64_t>(len, len - shift);
            if (t1 > t0) loops::axpy(g + t0, wp[(o * cin + c) * kernel + k], gx + t0 + shift, t1 - t0);
          }
        }
      }
    });
  });
  return {grad_x, grad_w, grad_b};
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CPU, m) {
  m.impl("conv1d_block_forward", &conv1d_block_forward_cpu);
  m.impl("conv1d_block_backward", &conv1d_block_backward_cpu);
}

}  // namespace genreg
