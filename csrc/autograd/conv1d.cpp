// Autograd of conv1d_block and upconv1d_block (forward and backward ops), for every
// backend: the Autograd dispatch key sits above CPU and CUDA, and the ops are called
// through the dispatcher below it. (The rule for all of genreg's ops: csrc/autograd/.)
//
// Each forward op's backward is the fused backward op. Each backward op's own
// derivative (for a critic with a gradient penalty: second order through the block)
// is in plain differentiable ATen ops (convolutions), so any further order works.
// The backward ops are linear in grad_out through gz, the gradient at the
// pre-activation z, which the forward's uint8 code routes (bit 0: the pooled pair's
// winner, bit 1: z > 0).
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <functional>
#include <optional>
#include <string>

#include "../conv1d_args.h"
#include "records_graph.h"

namespace genreg {
namespace {

using at::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Grads3 = std::tuple<Tensor, Tensor, Tensor>;

std::tuple<Tensor, Tensor> call_conv1d_block_forward(const Tensor& x, const Tensor& weight,
                                                     const std::optional<Tensor>& bias, c10::string_view activation,
                                                     double negative_slope, bool pool) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::conv1d_block_forward", "")
                       .typed<std::tuple<Tensor, Tensor>(const Tensor&, const Tensor&, const std::optional<Tensor>&,
                                                         c10::string_view, double, bool)>();
  return op.call(x, weight, bias, activation, negative_slope, pool);
}

Grads3 call_conv1d_block_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& code,
                                  c10::string_view activation, double negative_slope, bool pool, bool has_bias) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::conv1d_block_backward", "")
                       .typed<Grads3(const Tensor&, const Tensor&, const Tensor&, const Tensor&, c10::string_view,
                                     double, bool, bool)>();
  return op.call(grad_out, x, weight, code, activation, negative_slope, pool, has_bias);
}

std::tuple<Tensor, Tensor> call_upconv1d_block_forward(const Tensor& x, const Tensor& weight,
                                                       const std::optional<Tensor>& bias, int64_t size,
                                                       c10::string_view activation, double negative_slope) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::upconv1d_block_forward", "")
                       .typed<std::tuple<Tensor, Tensor>(const Tensor&, const Tensor&, const std::optional<Tensor>&,
                                                         int64_t, c10::string_view, double)>();
  return op.call(x, weight, bias, size, activation, negative_slope);
}

Grads3 call_upconv1d_block_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& code,
                                    int64_t size, c10::string_view activation, double negative_slope, bool has_bias) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::upconv1d_block_backward", "")
                       .typed<Grads3(const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t,
                                     c10::string_view, double, bool)>();
  return op.call(grad_out, x, weight, code, size, activation, negative_slope, has_bias);
}

// The non-tensor arguments both blocks' autograd keeps.
struct BlockArgs {
  std::string activation;
  double negative_slope;
  bool pool;  // conv1d_block
  int64_t size;  // upconv1d_block
  bool has_bias;
};

void save_args(AutogradContext* ctx, const BlockArgs& a) {
  ctx->saved_data["activation"] = a.activation;
  ctx->saved_data["negative_slope"] = a.negative_slope;
  ctx->saved_data["pool"] = a.pool;
  ctx->saved_data["size"] = a.size;
  ctx->saved_data["has_bias"] = a.has_bias;
}

BlockArgs load_args(AutogradContext* ctx) {
  return {ctx->saved_data["activation"].toStringRef(), ctx->saved_data["negative_slope"].toDouble(),
          ctx->saved_data["pool"].toBool(), ctx->saved_data["size"].toInt(), ctx->saved_data["has_bias"].toBool()};
}

// t times the activation's slope at z (1 where the code says z > 0); relu selects 0
// there instead of multiplying, so an infinite t gives 0, as torch's relu backward.
Tensor times_slope(const Tensor& t, const Tensor& code, const BlockArgs& a) {
  const auto positive = at::bitwise_and(code, 2).ne(0);
  const auto act = conv1d::parse_activation(a.activation, "conv1d autograd");
  if (act == conv1d::Act::relu) return at::where(positive, t, at::zeros({}, t.options()));
  const auto slope = at::where(positive, at::ones({}, t.options()),
                               at::full({}, conv1d::negative_side_slope(act, a.negative_slope), t.options()));
  return t * slope;
}

// The gradient at z (B, C, length) from that at the block's output: unpooled to the
// winners of each pair (0 at the losers and at an odd last position).
Tensor grad_at_z(const Tensor& grad_out, const Tensor& code, int64_t length, const BlockArgs& a) {
  auto g = times_slope(grad_out, code, a);
  if (!a.pool) return g;
  const auto second = at::bitwise_and(code, 1).to(at::kBool);
  const auto zero = at::zeros_like(g);
  const auto pairs = at::stack({at::where(second, zero, g), at::where(second, g, zero)}, -1);
  g = pairs.reshape({g.size(0), g.size(1), 2 * g.size(2)});
  return at::constant_pad_nd(g, {0, length - g.size(2)});
}

// The adjoint of grad_at_z: each output's winning position, times the slope.
Tensor grad_at_out(Tensor grad_z, const Tensor& code, const BlockArgs& a) {
  if (a.pool) {
    const int64_t out_len = code.size(2);
    const auto pairs = grad_z.narrow(2, 0, 2 * out_len).reshape({code.size(0), code.size(1), out_len, 2});
    grad_z = pairs.gather(-1, at::bitwise_and(code, 1).to(at::kLong).unsqueeze(-1)).squeeze(-1);
  }
  return times_slope(grad_z, code, a);
}

// d conv1d(input, weight, 'same') / d weight, applied to grad (torch.nn.grad.conv1d_weight).
Tensor conv1d_weight_grad(const Tensor& input, c10::IntArrayRef weight_shape, const Tensor& grad, int64_t pad) {
  const auto weight = at::empty({1}, grad.options()).expand(weight_shape);  // only its shape is read
  return std::get<1>(at::convolution_backward(grad, input, weight, std::nullopt, {1}, {pad}, {1}, false, {0}, 1,
                                              {false, true, false}));
}

Tensor sum_terms(const std::vector<Tensor>& terms) {
  Tensor total = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) total = total + terms[i];
  return total;
}

// The second-order rule both blocks share. Their backward ops are linear in grad_out
// through gz (the gradient at z) and read the conv's input u = lift(x) (conv1d_block:
// u = x; upconv1d_block: u = U x, adjoint U^T): with upstreams (up_x, up_w, up_b)
//   d grad_out = at_out(conv1d(lift(up_x), w) + conv1d(u, up_w) + up_b)
//   d x        = lift_adjoint(conv_transpose1d(gz, up_w))
//   d w        = conv1d_weight(lift(up_x), gz)
// at_out is the adjoint of gz's map from grad_out (the slope, and for a pool the winners).
struct BlockShape {
  std::function<Tensor(const Tensor&)> lift, lift_adjoint;
  std::function<Tensor(const Tensor&, const Tensor&, const BlockArgs&)> at_out;       // (t, code, args)
  std::function<Tensor(const Tensor&, const Tensor&, int64_t, const BlockArgs&)> at_z;  // (grad_out, code, len)
};

variable_list block_double_backward(AutogradContext* ctx, const variable_list& ups, const BlockShape& block) {
  const auto saved = ctx->get_saved_variables();
  const auto &grad_out = saved[0], &x = saved[1], &weight = saved[2], &code = saved[3];
  const auto &up_x = ups[0], &up_w = ups[1], &up_b = ups[2];
  const auto a = load_args(ctx);
  const int64_t pad = weight.size(2) / 2;
  const bool want_grad_out = ctx->needs_input_grad(0);
  const bool want_x = ctx->needs_input_grad(1) && up_w.defined();
  const bool want_w = ctx->needs_input_grad(2) && up_x.defined();
  // lift(up_x) feeds both d grad_out and d w: computed once
  const Tensor lifted_up_x = up_x.defined() && (want_grad_out || want_w) ? block.lift(up_x) : Tensor();
  Tensor d_grad_out, d_x, d_w;
  if (want_grad_out) {
    std::vector<Tensor> terms;
    if (up_x.defined()) terms.push_back(at::conv1d(lifted_up_x, weight, {}, 1, pad));
    if (up_w.defined()) terms.push_back(at::conv1d(block.lift(x), up_w, {}, 1, pad));
    if (a.has_bias && up_b.defined()) {
      const int64_t z_len = terms.empty() ? block.lift(x).size(2) : terms[0].size(2);
      terms.push_back(up_b.reshape({1, -1, 1}).expand({x.size(0), -1, z_len}));
    }
    if (!terms.empty()) d_grad_out = block.at_out(sum_terms(terms), code, a);
  }
  if (want_x || want_w) {
    const auto gz = block.at_z(grad_out, code, x.size(2), a);
    if (want_x) d_x = block.lift_adjoint(at::conv_transpose1d(gz, up_w, {}, 1, pad));
    if (want_w) d_w = conv1d_weight_grad(lifted_up_x, weight.sizes(), gz, pad);
  }
  return {d_grad_out, d_x, d_w, Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
}

// --- conv1d_block ---------------------------------------------------------------------

struct Conv1dBlockBackward : public torch::autograd::Function<Conv1dBlockBackward> {
  static variable_list forward(AutogradContext* ctx, const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                               const Tensor& code, c10::string_view activation, double negative_slope, bool pool,
                               bool has_bias) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->set_materialize_grads(false);
    ctx->save_for_backward({grad_out, x, weight, code});
    save_args(ctx, {std::string(activation), negative_slope, pool, 0, has_bias});
    auto [gx, gw, gb] = call_conv1d_block_backward(grad_out, x, weight, code, activation, negative_slope, pool,
                                                   has_bias);
    return {gx, gw, gb};
  }

  // grad_x = conv_transpose1d(gz, w), grad_w = conv1d_weight(x, gz), grad_b = sum gz.
  static variable_list backward(AutogradContext* ctx, variable_list ups) {
    const auto identity = [](const Tensor& t) { return t; };
    return block_double_backward(ctx, ups, {identity, identity, grad_at_out, grad_at_z});
  }
};

struct Conv1dBlockForward : public torch::autograd::Function<Conv1dBlockForward> {
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight,
                               const std::optional<Tensor>& bias, c10::string_view activation, double negative_slope,
                               bool pool) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    const bool has_bias = bias.has_value() && bias->defined();
    auto [out, code] = call_conv1d_block_forward(x, weight, bias, activation, negative_slope, pool);
    ctx->save_for_backward({x, weight, code});
    save_args(ctx, {std::string(activation), negative_slope, pool, 0, has_bias});
    ctx->mark_non_differentiable({code});
    return {out, code};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto a = load_args(ctx);
    // through the dispatcher: under create_graph the backward op records its own autograd
    auto [gx, gw, gb] = call_conv1d_block_backward(grads[0], saved[0], saved[1], saved[2], a.activation,
                                                   a.negative_slope, a.pool, a.has_bias);
    return {gx, gw, a.has_bias ? gb : Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// --- upconv1d_block -------------------------------------------------------------------
// The same with x replaced by its upsampled copy u = U x (U = index_select of each
// position's source, U^T = index_add).

// The input position each of `size` upsampled positions copies: interpolate's own rule,
// read off an upsampled arange (exact while length < 2**24).
Tensor nearest_sources(int64_t length, int64_t size, const Tensor& like) {
  const auto positions = at::arange(length, like.options()).reshape({1, 1, length});
  return at::upsample_nearest1d(positions, {size}).reshape({size}).to(at::kLong);
}

struct Upconv1dBlockBackward : public torch::autograd::Function<Upconv1dBlockBackward> {
  static variable_list forward(AutogradContext* ctx, const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                               const Tensor& code, int64_t size, c10::string_view activation, double negative_slope,
                               bool has_bias) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->set_materialize_grads(false);
    ctx->save_for_backward({grad_out, x, weight, code});
    save_args(ctx, {std::string(activation), negative_slope, false, size, has_bias});
    auto [gx, gw, gb] = call_upconv1d_block_backward(grad_out, x, weight, code, size, activation, negative_slope,
                                                     has_bias);
    return {gx, gw, gb};
  }

  // With gz = grad_out * slope(code): grad_x = U^T conv_transpose1d(gz, w),
  // grad_w = conv1d_weight(U x, gz), grad_b = sum gz -- linear in grad_out.
  static variable_list backward(AutogradContext* ctx, variable_list ups) {
    const Tensor x = ctx->get_saved_variables()[1];  // a copy: the list is a temporary
    const auto src = nearest_sources(x.size(2), load_args(ctx).size, x);
    const auto upsample = [&](const Tensor& t) { return t.index_select(2, src); };
    const auto upsample_adjoint = [&](const Tensor& t) {
      return at::zeros({t.size(0), t.size(1), x.size(2)}, t.options()).index_add(2, src, t);
    };
    const auto slope_only = [](const Tensor& t, const Tensor& code, const BlockArgs& a) {
      return times_slope(t, code, a);
    };
    const auto slope_at_z = [](const Tensor& g, const Tensor& code, int64_t, const BlockArgs& a) {
      return times_slope(g, code, a);
    };
    return block_double_backward(ctx, ups, {upsample, upsample_adjoint, slope_only, slope_at_z});
  }
};

struct Upconv1dBlockForward : public torch::autograd::Function<Upconv1dBlockForward> {
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight,
                               const std::optional<Tensor>& bias, int64_t size, c10::string_view activation,
                               double negative_slope) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    const bool has_bias = bias.has_value() && bias->defined();
    auto [out, code] = call_upconv1d_block_forward(x, weight, bias, size, activation, negative_slope);
    ctx->save_for_backward({x, weight, code});
    save_args(ctx, {std::string(activation), negative_slope, false, size, has_bias});
    ctx->mark_non_differentiable({code});
    return {out, code};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto a = load_args(ctx);
    auto [gx, gw, gb] = call_upconv1d_block_backward(grads[0], saved[0], saved[1], saved[2], a.size, a.activation,
                                                     a.negative_slope, a.has_bias);
    return {gx, gw, a.has_bias ? gb : Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

std::tuple<Tensor, Tensor> conv1d_block_forward_autograd(const Tensor& x, const Tensor& weight,
                                                         const std::optional<Tensor>& bias,
                                                         c10::string_view activation, double negative_slope,
                                                         bool pool) {
  if (!records_graph(x, weight, bias)) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call_conv1d_block_forward(x, weight, bias, activation, negative_slope, pool);
  }
  auto outs = Conv1dBlockForward::apply(x, weight, bias, activation, negative_slope, pool);
  return {outs[0], outs[1]};
}

Grads3 conv1d_block_backward_autograd(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                      const Tensor& code, c10::string_view activation, double negative_slope,
                                      bool pool, bool has_bias) {
  if (!records_graph(grad_out, x, weight)) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call_conv1d_block_backward(grad_out, x, weight, code, activation, negative_slope, pool, has_bias);
  }
  auto outs = Conv1dBlockBackward::apply(grad_out, x, weight, code, activation, negative_slope, pool, has_bias);
  return {outs[0], outs[1], outs[2]};
}

std::tuple<Tensor, Tensor> upconv1d_block_forward_autograd(const Tensor& x, const Tensor& weight,
                                                           const std::optional<Tensor>& bias, int64_t size,
                                                           c10::string_view activation, double negative_slope) {
  if (!records_graph(x, weight, bias)) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call_upconv1d_block_forward(x, weight, bias, size, activation, negative_slope);
  }
  auto outs = Upconv1dBlockForward::apply(x, weight, bias, size, activation, negative_slope);
  return {outs[0], outs[1]};
}

Grads3 upconv1d_block_backward_autograd(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                        const Tensor& code, int64_t size, c10::string_view activation,
                                        double negative_slope, bool has_bias) {
  if (!records_graph(grad_out, x, weight)) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call_upconv1d_block_backward(grad_out, x, weight, code, size, activation, negative_slope, has_bias);
  }
  auto outs = Upconv1dBlockBackward::apply(grad_out, x, weight, code, size, activation, negative_slope, has_bias);
  return {outs[0], outs[1], outs[2]};
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, Autograd, m) {
  m.impl("conv1d_block_forward", &conv1d_block_forward_autograd);
  m.impl("conv1d_block_backward", &conv1d_block_backward_autograd);
  m.impl("upconv1d_block_forward", &upconv1d_block_forward_autograd);
  m.impl("upconv1d_block_backward", &upconv1d_block_backward_autograd);
}

}  // namespace genreg
