// Autograd of gp_interpolate and of the gradient-penalty pair grad_penalty_forward /
// grad_penalty_backward, for every backend: the Autograd dispatch key sits above CPU
// and CUDA, and the ops are called through the dispatcher below it. (The rule for
// all of genreg's ops: csrc/autograd/.)
//
// The penalty's forward returns the per-sample sums of squares s (float64) next to
// the penalty, and its backward takes them, so the backward reads g once. s stays an
// output in the graph: differentiating the penalty's gradient again (create_graph)
// reaches s's dependence on g through grad_penalty_forward's own backward (ds/dg =
// 2g), so every order is exact. The backward op's derivative is in plain
// differentiable ATen ops.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/accumulate.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <string>

#include "records_graph.h"

namespace genreg {
namespace {

using at::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

Tensor call_gp_interpolate(const Tensor& real, const Tensor& fake, const Tensor& eps) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::gp_interpolate", "")
                       .typed<Tensor(const Tensor&, const Tensor&, const Tensor&)>();
  return op.call(real, fake, eps);
}

std::tuple<Tensor, Tensor> call_grad_penalty_forward(const Tensor& grads, c10::string_view mode, double center,
                                                     double p) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::grad_penalty_forward", "")
                       .typed<std::tuple<Tensor, Tensor>(const Tensor&, c10::string_view, double, double)>();
  return op.call(grads, mode, center, p);
}

Tensor call_grad_penalty_backward(const Tensor& grad_out, const Tensor& grads, const Tensor& sumsq,
                                  c10::string_view mode, double center, double p) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::grad_penalty_backward", "")
                       .typed<Tensor(const Tensor&, const Tensor&, const Tensor&, c10::string_view, double, double)>();
  return op.call(grad_out, grads, sumsq, mode, center, p);
}

// One value per sample, shaped (B, 1, ..., 1) to broadcast against `like`.
Tensor per_sample_view(const Tensor& values, const Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = like.size(0);
  return values.reshape(shape);
}

// The sample size spelled out: reshape({B, -1}) is ambiguous for an empty tensor.
Tensor per_sample_sum(const Tensor& x) {
  return x.reshape({x.size(0), c10::multiply_integers(x.sizes().slice(1))}).sum(1);
}

struct PenaltyArgs {
  std::string mode;
  double center, p;
};

void save_penalty_args(AutogradContext* ctx, c10::string_view mode, double center, double p) {
  ctx->saved_data["mode"] = std::string(mode);
  ctx->saved_data["center"] = center;
  ctx->saved_data["p"] = p;
}

PenaltyArgs penalty_args(AutogradContext* ctx) {
  return {ctx->saved_data["mode"].toStringRef(), ctx->saved_data["center"].toDouble(), ctx->saved_data["p"].toDouble()};
}

// --- gp_interpolate: out = fake + eps_b (real - fake) ---------------------------------

struct GpInterpolateFunction : public torch::autograd::Function<GpInterpolateFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& real, const Tensor& fake, const Tensor& eps) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->save_for_backward({real, fake, eps});
    return call_gp_interpolate(real, fake, eps);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &real = saved[0], &fake = saved[1], &eps = saved[2];
    const auto& grad = grads[0];
    const bool need_real = ctx->needs_input_grad(0), need_fake = ctx->needs_input_grad(1);
    Tensor grad_real, grad_fake, grad_eps;
    if (need_real || need_fake) grad_real = grad * per_sample_view(eps, grad);
    if (need_fake) grad_fake = grad - grad_real;
    if (ctx->needs_input_grad(2)) grad_eps = per_sample_sum(grad * (real - fake)).reshape(eps.sizes());
    return {need_real ? grad_real : Tensor(), grad_fake, grad_eps};
  }
};

// --- grad_penalty_forward: (penalty, s) -----------------------------------------------

struct GradPenaltyForwardFunction : public torch::autograd::Function<GradPenaltyForwardFunction> {
  static variable_list forward(AutogradContext* ctx, const Tensor& grads, c10::string_view mode, double center,
                               double p) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->set_materialize_grads(false);  // an unused output costs no pass over g
    save_penalty_args(ctx, mode, center, p);
    auto [penalty, sumsq] = call_grad_penalty_forward(grads, mode, center, p);
    ctx->save_for_backward({grads, sumsq});
    return {penalty, sumsq};
  }

  // d/dg = grad_penalty_backward(grad_penalty, g, s) + 2 grad_s g. Under create_graph the
  // saved s is this node's output, so the backward op's d/ds flows back here as grad_s.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &grads = saved[0], &sumsq = saved[1];
    const auto args = penalty_args(ctx);
    const auto &grad_penalty = grad_outputs[0], &grad_sumsq = grad_outputs[1];
    Tensor d_grads;
    if (ctx->needs_input_grad(0) && grad_penalty.defined())
      d_grads = call_grad_penalty_backward(grad_penalty, grads, sumsq, args.mode, args.center, args.p);
    if (ctx->needs_input_grad(0) && grad_sumsq.defined()) {
      auto term = per_sample_view(2 * grad_sumsq.to(grads.scalar_type()), grads) * grads;
      d_grads = d_grads.defined() ? d_grads + term : term;
    }
    return {d_grads, Tensor(), Tensor(), Tensor()};
  }
};

// h(s) with d penalty / d g = h(s) g, and h'(s), per sample; both 0 where s == 0, as
// in grad_penalty_math.h.
std::pair<Tensor, Tensor> coefficient_and_slope_at(const Tensor& s, const PenaltyArgs& args) {
  const auto nonzero = s > 0;
  const auto safe = at::where(nonzero, s, at::ones_like(s));
  Tensor h, dh;
  if (args.mode == "gp") {
    const auto norm = safe.sqrt();
    h = 2 * (1 - args.center / norm);
    dh = args.center / (norm * safe);
  } else {
    h = args.p * safe.pow(args.p / 2 - 1);
    dh = args.p * (args.p / 2 - 1) * safe.pow(args.p / 2 - 2);
  }
  const auto zero = at::zeros_like(s);
  return {at::where(nonzero, h, zero), at::where(nonzero, dh, zero)};
}

// --- grad_penalty_backward: dg = a_b g with a_b = grad_out_b h(s_b) ------------------
//   d / d grad_out_b = h(s_b) <upstream_b, g_b>
//   d / d g          = a_b upstream
//   d / d s_b        = grad_out_b h'(s_b) <upstream_b, g_b>

struct GradPenaltyBackwardFunction : public torch::autograd::Function<GradPenaltyBackwardFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& grad_out, const Tensor& grads, const Tensor& sumsq,
                        c10::string_view mode, double center, double p) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->save_for_backward({grad_out, grads, sumsq});
    save_penalty_args(ctx, mode, center, p);
    return call_grad_penalty_backward(grad_out, grads, sumsq, mode, center, p);
  }

  static variable_list backward(AutogradContext* ctx, variable_list upstreams) {
    const auto saved = ctx->get_saved_variables();
    const auto &grad_out = saved[0], &grads = saved[1], &sumsq = saved[2], &upstream = upstreams[0];
    auto [h, dh] = coefficient_and_slope_at(sumsq, penalty_args(ctx));
    h = h.to(grads.scalar_type());
    const auto rg = per_sample_sum(upstream * grads);
    Tensor d_grad_out, d_grads, d_sumsq;
    if (ctx->needs_input_grad(0)) d_grad_out = h * rg;
    if (ctx->needs_input_grad(1)) d_grads = per_sample_view(grad_out * h, grads) * upstream;
    if (ctx->needs_input_grad(2)) d_sumsq = grad_out.to(at::kDouble) * dh * rg.to(at::kDouble);
    return {d_grad_out, d_grads, d_sumsq, Tensor(), Tensor(), Tensor()};
  }
};

Tensor gp_interpolate_autograd(const Tensor& real, const Tensor& fake, const Tensor& eps) {
  if (!records_graph(real, fake, eps)) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call_gp_interpolate(real, fake, eps);
  }
  return GpInterpolateFunction::apply(real, fake, eps);
}

std::tuple<Tensor, Tensor> grad_penalty_forward_autograd(const Tensor& grads, c10::string_view mode, double center,
                                                         double p) {
  if (!records_graph(grads)) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call_grad_penalty_forward(grads, mode, center, p);
  }
  auto outputs = GradPenaltyForwardFunction::apply(grads, mode, center, p);
  return {outputs[0], outputs[1]};
}

Tensor grad_penalty_backward_autograd(const Tensor& grad_out, const Tensor& grads, const Tensor& sumsq,
                                      c10::string_view mode, double center, double p) {
  if (!records_graph(grad_out, grads, sumsq)) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return call_grad_penalty_backward(grad_out, grads, sumsq, mode, center, p);
  }
  return GradPenaltyBackwardFunction::apply(grad_out, grads, sumsq, mode, center, p);
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, Autograd, m) {
  m.impl("gp_interpolate", &gp_interpolate_autograd);
  m.impl("grad_penalty_forward", &grad_penalty_forward_autograd);
  m.impl("grad_penalty_backward", &grad_penalty_backward_autograd);
}

}  // namespace genreg
