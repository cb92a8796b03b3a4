// What the conv1d block ops check and parse the same way on every backend: the
// activation argument, and the shapes of x, weight, grad_out and code. Each backend
// adds its own dtype and device checks.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include <string>

namespace genreg {
namespace conv1d {

enum class Act { relu, leaky_relu, none };

inline Act parse_activation(c10::string_view name, const char* op) {
  if (name == c10::string_view("relu")) return Act::relu;
  if (name == c10::string_view("leaky_relu")) return Act::leaky_relu;
  if (name == c10::string_view("none")) return Act::none;
  TORCH_CHECK(false, op, ": unknown activation '", std::string(name.data(), name.size()),
              "'; choose relu, leaky_relu or none");
}

// d activation / d z where z <= 0 (it is 1 where z > 0).
inline double negative_side_slope(Act act, double negative_slope) {
  return act == Act::relu ? 0.0 : act == Act::leaky_relu ? negative_slope : 1.0;
}

inline void check_conv_shapes(const at::Tensor& x, const at::Tensor& weight, const char* op) {
  TORCH_CHECK(x.dim() == 3, op, ": x must be (batch, channels, length), got shape ", x.sizes());
  TORCH_CHECK(weight.dim() == 3, op, ": weight must be (out_channels, in_channels, kernel), got shape ",
              weight.sizes());
  TORCH_CHECK(weight.size(1) == x.size(1), op, ": weight expects ", weight.size(1), " input channels, x has ",
              x.size(1));
  TORCH_CHECK(x.size(1) >= 1 && weight.size(0) >= 1, op,
              ": needs at least one input channel and one output channel, got x of shape ", x.sizes(),
              " and weight of shape ", weight.sizes());
  TORCH_CHECK(weight.size(2) % 2 == 1, op, ": kernel size must be odd for 'same' padding, got ", weight.size(2));
  TORCH_CHECK(x.size(2) >= 1, op, ": x must have length >= 1, got ", x.size(2));
}

// A backward op's grad_out (x's dtype) and code (uint8), both of the forward's output shape.
inline void check_grad_out_and_code(const at::Tensor& grad_out, const at::Tensor& code, const at::Tensor& x,
                                    c10::IntArrayRef out_shape, const char* op) {
  TORCH_CHECK(grad_out.sizes() == out_shape, op, ": grad_out must have shape ", out_shape, ", got ",
              grad_out.sizes());
  TORCH_CHECK(code.sizes() == out_shape && code.scalar_type() == at::kByte, op, ": code must be uint8 of shape ",
              out_shape, ", got ", code.scalar_type(), " of shape ", code.sizes());
  TORCH_CHECK(grad_out.scalar_type() == x.scalar_type(), op, ": grad_out has dtype ", grad_out.scalar_type(),
              ", expected ", x.scalar_type());
}

}  // namespace conv1d
}  // namespace genreg
