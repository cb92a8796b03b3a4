// CPU kernels for genreg::upconv1d_block_forward / upconv1d_block_backward, the
// denoiser's decoder block:
//   u = nearest upsample of x to `size` positions (torch's rule: source index
//       floor(t * L / size) in float, so odd sizes come back exactly)
//   z = conv1d(u, weight, 'same' padding K/2, stride 1) + bias
//   y = activation(z)            relu | leaky_relu(negative_slope) | none
// The forward also returns a uint8 code per output (bit 1: z > 0) for the backward.
// u is never stored: each sample's upsampled rows are gathered into the zero-padded
// rows the loops of conv1d_engine.h read (see conv1d_common.h for the drivers). The
// input gradient is the transposed convolution of gz summed back onto the positions
// each input was copied to.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "conv1d_common.h"

namespace genreg {
namespace {

using namespace conv1d;

// The input position each of the `size` upsampled positions copies (torch's
// upsample_nearest1d without a scale factor).
std::vector<int64_t> nearest_sources(int64_t length, int64_t size) {
  std::vector<int64_t> src(size);
  const float scale = static_cast<float>(length) / static_cast<float>(size);
  for (int64_t t = 0; t < size; ++t) {
    if (size == length) {
      src[t] = t;
    } else if (size == 2 * length) {
      src[t] = t >> 1;
    } else {
      src[t] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(t) * scale)), length - 1);
    }
  }
  return src;
}

void check_size(const at::Tensor& x, int64_t size, const char* op) {
  TORCH_CHECK(size >= 1, op, ": size must be >= 1, got ", size);
  TORCH_CHECK(x.size(2) >= 1, op, ": x must have length >= 1, got ", x.size(2));
}

// Gathers sample b's upsampled rows into zero-padded rows.
template <typename scalar_t>
auto upsampled_rows(const scalar_t* x, int64_t channels, int64_t len, const std::vector<int64_t>& src, int64_t pad,
                    int64_t row) {
  return [=, &src](int64_t b, scalar_t* rows) {
    const int64_t size = static_cast<int64_t>(src.size());
    for (int64_t c = 0; c < channels; ++c) {
      const scalar_t* in = x + (b * channels + c) * len;
      scalar_t* out = rows + c * row + pad;
      for (int64_t t = 0; t < size; ++t) out[t] = in[src[t]];
    }
  };
}

std::tuple<at::Tensor, at::Tensor> upconv1d_block_forward_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                                                              const std::optional<at::Tensor>& bias_in, int64_t size,
                                                              c10::string_view activation, double negative_slope) {
  const char* op = "upconv1d_block_forward";
  check_conv_inputs(x_in, weight_in, op);
  check_size(x_in, size, op);
  check_bias(bias_in, x_in, weight_in, op);
  const Act act = parse_activation(activation, op);
  const bool has_bias = bias_in.has_value() && bias_in->defined();
  auto x = x_in.contiguous();
  auto weight = weight_in.contiguous();
  const int64_t batch = x.size(0), cin = x.size(1), len = x.size(2);
  const int64_t cout = weight.size(0), kernel = weight.size(2);
  auto out = at::empty({batch, cout, size}, x.options());
  auto code = at::empty({batch, cout, size}, x.options().dtype(at::kByte));
  at::Tensor bias = has_bias ? bias_in->contiguous() : at::Tensor();
  const auto src = nearest_sources(len, size);
  const Layer layer = make_layer(batch, cin, cout, kernel, size, size, size);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "upconv1d_block_forward_cpu", [&] {
    run_forward<scalar_t>(layer, weight.data_ptr<scalar_t>(), has_bias ? bias.data_ptr<scalar_t>() : nullptr,
                          Store::act, static_cast<scalar_t>(negative_side_slope(act, negative_slope)),
                          out.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(),
                          upsampled_rows(x.data_ptr<scalar_t>(), cin, len, src, kernel / 2, layer.row));
  });
  return {out, code};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> upconv1d_block_backward_cpu(
    const at::Tensor& grad_out_in, const at::Tensor& x_in, const at::Tensor& weight_in, const at::Tensor& code_in,
    int64_t size, c10::string_view activation, double negative_slope, bool has_bias) {
  const char* op = "upconv1d_block_backward";
  check_conv_inputs(x_in, weight_in, op);
  check_size(x_in, size, op);
  const Act act = parse_activation(activation, op);
  const int64_t batch = x_in.size(0), cin = x_in.size(1), len = x_in.size(2);
  const int64_t cout = weight_in.size(0), kernel = weight_in.size(2);
  const std::vector<int64_t> out_shape{batch, cout, size};
  TORCH_CHECK(grad_out_in.sizes() == c10::IntArrayRef(out_shape), op, ": grad_out must have shape ",
              c10::IntArrayRef(out_shape), ", got ", grad_out_in.sizes());
  TORCH_CHECK(code_in.sizes() == c10::IntArrayRef(out_shape) && code_in.scalar_type() == at::kByte, op,
              ": code must be uint8 of shape ", c10::IntArrayRef(out_shape));
  TORCH_CHECK(grad_out_in.scalar_type() == x_in.scalar_type(), op, ": grad_out has dtype ",
              grad_out_in.scalar_type(), ", expected ", x_in.scalar_type());
  auto go = grad_out_in.contiguous();
  auto x = x_in.contiguous();
  auto code = code_in.contiguous();
  auto weight_t = weight_in.flip({2}).transpose(0, 1).contiguous();
  auto grad_x = at::empty_like(x);
  const auto src = nearest_sources(len, size);
  const Layer layer = make_layer(batch, cin, cout, kernel, size, size, size);
  at::Tensor grad_w, grad_b;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "upconv1d_block_backward_cpu", [&] {
    const scalar_t* wtp = weight_t.data_ptr<scalar_t>();
    scalar_t* gxp = grad_x.data_ptr<scalar_t>();
    // gradient at u into the scratch (cin, size), then summed onto each source position
    auto grad_input = [&](int64_t b, const scalar_t* gz_rows, scalar_t* grad_u) {
      ForwardArgs<scalar_t> a{gz_rows, layer.row, cout, wtp, nullptr, cin, kernel, size, Store::plain,
                              scalar_t(0), grad_u, nullptr, size};
      forward(a);
      for (int64_t c = 0; c < cin; ++c) {
        scalar_t* gx = gxp + (b * cin + c) * len;
        const scalar_t* gu = grad_u + c * size;
        std::fill(gx, gx + len, scalar_t(0));
        for (int64_t t = 0; t < size; ++t) gx[src[t]] += gu[t];
      }
    };
    std::tie(grad_w, grad_b) = run_backward<scalar_t>(
        layer, go.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(), false,
        static_cast<scalar_t>(negative_side_slope(act, negative_slope)), x.options(),
        upsampled_rows(x.data_ptr<scalar_t>(), cin, len, src, kernel / 2, layer.row), grad_input, cin * size);
  });
  grad_b = has_bias ? grad_b.to(x.scalar_type()) : at::empty({0}, x.options());
  return {grad_x, grad_w, grad_b};
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CPU, m) {
  m.impl("upconv1d_block_forward", &upconv1d_block_forward_cpu);
  m.impl("upconv1d_block_backward", &upconv1d_block_backward_cpu);
}

}  // namespace genreg
