// CPU kernels for genreg::conv1d_block_forward / conv1d_block_backward:
//   z = conv1d(x, weight, 'same' padding K/2, stride 1) + bias
//   a = activation(z)            relu | leaky_relu(negative_slope) | none
//   y = max_pool1d(a, 2)         (floor; optional)
// The forward also returns a uint8 code per output: bit 0 = which of the pooled pair
// won (the first on ties, like torch), bit 1 = z > 0 there. The backward needs only
// that code, x and weight -- no pre-activation tensor is stored.
//
// Samples are split over threads with at::parallel_for (OpenMP); the register-blocked
// loops are those of conv1d_engine.h (built per instruction set, picked at load time).
// The backward computes the gradient at z for a few samples at a time into padded
// rows, sums the weight gradient over them (per-thread partial sums, added at the
// end) and convolves them with the flipped kernel for the input gradient.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <tuple>
#include <vector>

#include "conv1d_common.h"

namespace genreg {
namespace {

using namespace conv1d;

std::tuple<at::Tensor, at::Tensor> conv1d_block_forward_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                                                            const std::optional<at::Tensor>& bias_in,
                                                            c10::string_view activation, double negative_slope,
                                                            bool pool) {
  const char* op = "conv1d_block_forward";
  check_conv_inputs(x_in, weight_in, op);
  check_bias(bias_in, x_in, weight_in, op);
  const Act act = parse_activation(activation, op);
  const bool has_bias = bias_in.has_value() && bias_in->defined();
  auto x = x_in.contiguous();
  auto weight = weight_in.contiguous();
  const int64_t batch = x.size(0), cin = x.size(1), len = x.size(2);
  const int64_t cout = weight.size(0), kernel = weight.size(2);
  TORCH_CHECK(!pool || len >= 2, op, ": max-pool 2 needs length >= 2, got ", len);
  const int64_t out_len = pool ? len / 2 : len;
  auto out = at::empty({batch, cout, out_len}, x.options());
  auto code = at::empty({batch, cout, out_len}, x.options().dtype(at::kByte));
  at::Tensor bias = has_bias ? bias_in->contiguous() : at::Tensor();
  const Layer layer = make_layer(batch, cin, cout, kernel, len, pool ? 2 * out_len : len, out_len, out_len);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "conv1d_block_forward_cpu", [&] {
    run_forward<scalar_t>(layer, weight.data_ptr<scalar_t>(), has_bias ? bias.data_ptr<scalar_t>() : nullptr,
                          pool ? Store::pool_act : Store::act,
                          static_cast<scalar_t>(negative_side_slope(act, negative_slope)), act == Act::relu,
                          out.data_ptr<scalar_t>(),
                          code.data_ptr<uint8_t>(), copy_rows(x.data_ptr<scalar_t>(), cin, len, kernel / 2, layer.row));
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
  const int64_t cout = weight_in.size(0), kernel = weight_in.size(2);
  TORCH_CHECK(!pool || len >= 2, op, ": max-pool 2 needs length >= 2, got ", len);
  const int64_t out_len = pool ? len / 2 : len;
  const std::vector<int64_t> out_shape{batch, cout, out_len};
  check_grad_out_and_code(grad_out_in, code_in, x_in, out_shape, op);
  auto go = grad_out_in.contiguous();
  auto x = x_in.contiguous();
  auto code = code_in.contiguous();
  // grad_x = the 'same' convolution of gz with the kernel flipped and in/out swapped
  auto weight_t = weight_in.flip({2}).transpose(0, 1).contiguous();
  auto grad_x = at::empty_like(x);
  const Layer layer = make_layer(batch, cin, cout, kernel, len, pool ? 2 * out_len : len, out_len, out_len);
  at::Tensor grad_w, grad_b;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "conv1d_block_backward_cpu", [&] {
    const scalar_t* wtp = weight_t.data_ptr<scalar_t>();
    scalar_t* gxp = grad_x.data_ptr<scalar_t>();
    auto grad_input = [&](int64_t b, const scalar_t* gz_rows, scalar_t*) {
      ForwardArgs<scalar_t> a{gz_rows, layer.row, cout, wtp, nullptr, cin, kernel, len, Store::plain,
                              scalar_t(0), gxp + b * cin * len, nullptr, len};
      forward(a);
    };
    std::tie(grad_w, grad_b) = run_backward<scalar_t>(
        layer, go.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(), pool ? Store::pool_act : Store::act,
        static_cast<scalar_t>(negative_side_slope(act, negative_slope)), act == Act::relu, x.options(),
        copy_rows(x.data_ptr<scalar_t>(), cin, len, kernel / 2, layer.row), grad_input, 0);
  });
  grad_b = has_bias ? grad_b.to(x.scalar_type()) : at::empty({0}, x.options());
  return {grad_x, grad_w, grad_b};
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, CPU, m) {
  m.impl("conv1d_block_forward", &conv1d_block_forward_cpu);
  m.impl("conv1d_block_backward", &conv1d_block_backward_cpu);
}

}  // namespace genreg
