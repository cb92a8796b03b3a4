// Autograd for gp_interpolate and the grad_penalty ops (grad_penalty,
// grad_penalty_backward, grad_penalty_forward, grad_penalty_backward_sumsq), in C++
// for every backend (the Autograd dispatch key sits above CPU and CUDA).
//
// Why C++: registered from Python (torch.library.register_autograd), every call of
// these ops ran a Python autograd.Function, forward and backward, even without
// gradients: about 35 us of a penalty forward+backward on the development machine,
// as much as the kernels take for a (256, 1, 500) batch. The formulas are the same as before: each
// backward is a fused op or plain differentiable ATen ops, so the penalty can be
// differentiated any number of times (grad_penalty's backward op has autograd too).
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/accumulate.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <string>

namespace genreg {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The ops through the dispatcher, so that the backend (CPU, CUDA, Meta/Fake) is
// picked below autograd and a nested call records its own autograd.
at::Tensor call_gp_interpolate(const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::gp_interpolate", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)>();
  return op.call(real, fake, eps);
}

at::Tensor call_grad_penalty(const at::Tensor& grads, c10::string_view mode, double center, double p) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::grad_penalty", "")
                       .typed<at::Tensor(const at::Tensor&, c10::string_view, double, double)>();
  return op.call(grads, mode, center, p);
}

at::Tensor call_grad_penalty_backward(const at::Tensor& grad_out, const at::Tensor& grads, c10::string_view mode,
                                      double center, double p) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::grad_penalty_backward", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, c10::string_view, double, double)>();
  return op.call(grad_out, grads, mode, center, p);
}

std::tuple<at::Tensor, at::Tensor> call_grad_penalty_forward(const at::Tensor& grads, c10::string_view mode,
                                                             double center, double p) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::grad_penalty_forward", "")
                       .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, c10::string_view, double, double)>();
  return op.call(grads, mode, center, p);
}

at::Tensor call_grad_penalty_backward_sumsq(const at::Tensor& grad_out, const at::Tensor& grads,
                                            const at::Tensor& sumsq, c10::string_view mode, double center, double p) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("genreg::grad_penalty_backward_sumsq", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, c10::string_view,
                                         double, double)>();
  return op.call(grad_out, grads, sumsq, mode, center, p);
}

// Whether the backend of `t` (CPU, CUDA, Meta, ...) has the forward/backward pair that
// hands the sums of squares over; a backend without it uses grad_penalty(_backward).
bool has_sumsq_pair(const at::Tensor& t) {
  static const auto fwd = c10::Dispatcher::singleton().findSchemaOrThrow("genreg::grad_penalty_forward", "");
  static const auto bwd = c10::Dispatcher::singleton().findSchemaOrThrow("genreg::grad_penalty_backward_sumsq", "");
  const auto key = c10::legacyExtractDispatchKey(t.key_set());
  return fwd.hasKernelForDispatchKey(key) && bwd.hasKernelForDispatchKey(key);
}

// One value per sample, shaped (B, 1, ..., 1) to broadcast against `like`.
at::Tensor per_sample_view(const at::Tensor& values, const at::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = like.size(0);
  return values.reshape(shape);
}

// The sample size spelled out: reshape({B, -1}) is ambiguous for an empty tensor.
at::Tensor per_sample_sum(const at::Tensor& x) {
  return x.reshape({x.size(0), c10::multiply_integers(x.sizes().slice(1))}).sum(1);
}

void save_penalty_args(AutogradContext* ctx, c10::string_view mode, double center, double p) {
  ctx->saved_data["mode"] = std::string(mode);
  ctx->saved_data["center"] = center;
  ctx->saved_data["p"] = p;
}

struct PenaltyArgs {
  std::string mode;
  double center, p;
};

PenaltyArgs penalty_args(AutogradContext* ctx) {
  return {ctx->saved_data["mode"].toStringRef(), ctx->saved_data["center"].toDouble(), ctx->saved_data["p"].toDouble()};
}

// --- gp_interpolate: out = fake + eps_b (real - fake) ---------------------------------

struct GpInterpolateFunction : public torch::autograd::Function<GpInterpolateFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& real, const at::Tensor& fake,
                            const at::Tensor& eps) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->save_for_backward({real, fake, eps});
    return call_gp_interpolate(real, fake, eps);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &real = saved[0], &fake = saved[1], &eps = saved[2];
    const auto& grad = grads[0];
    const bool need_real = ctx->needs_input_grad(0), need_fake = ctx->needs_input_grad(1);
    at::Tensor grad_real, grad_fake, grad_eps;
    if (need_real || need_fake) grad_real = grad * per_sample_view(eps, grad);
    if (need_fake) grad_fake = grad - grad_real;
    if (ctx->needs_input_grad(2)) grad_eps = per_sample_sum(grad * (real - fake)).reshape(eps.sizes());
    return {need_real ? grad_real : at::Tensor(), grad_fake, grad_eps};
  }
};

// --- grad_penalty: the backward is a fused op --------------------------------------
// grad_penalty_forward + grad_penalty_backward_sumsq where the backend has them (the
// sums of squares saved, g read once in the backward), else grad_penalty +
// grad_penalty_backward (the backward sums the squares again).

struct GradPenaltyFunction : public torch::autograd::Function<GradPenaltyFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grads, c10::string_view mode, double center,
                            double p) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    save_penalty_args(ctx, mode, center, p);
    if (has_sumsq_pair(grads)) {
      auto [penalty, sumsq] = call_grad_penalty_forward(grads, mode, center, p);
      ctx->save_for_backward({grads, sumsq});
      return penalty;
    }
    ctx->save_for_backward({grads});
    return call_grad_penalty(grads, mode, center, p);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto args = penalty_args(ctx);
    at::Tensor d_grads;
    if (ctx->needs_input_grad(0)) {
      // Under create_graph (the penalty's gradient differentiated again) the saved
      // sums, which are not in the graph, would hide how they depend on g:
      // grad_penalty_backward recomputes them, and its autograd accounts for that.
      d_grads = saved.size() == 2 && !at::GradMode::is_enabled()
                    ? call_grad_penalty_backward_sumsq(grad_outputs[0], saved[0], saved[1], args.mode, args.center,
                                                       args.p)
                    : call_grad_penalty_backward(grad_outputs[0], saved[0], args.mode, args.center, args.p);
    }
    return {d_grads, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// h(s) with d penalty / d g = h(s) g, and h'(s), per sample (s = sum g^2); both 0
// where s == 0, as in grad_penalty_math.h.
std::pair<at::Tensor, at::Tensor> coefficient_and_slope_at(const at::Tensor& s, const PenaltyArgs& args) {
  const auto nonzero = s > 0;
  const auto safe = at::where(nonzero, s, at::ones_like(s));
  at::Tensor h, dh;
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

std::pair<at::Tensor, at::Tensor> coefficient_and_slope(const at::Tensor& grads, const PenaltyArgs& args) {
  return coefficient_and_slope_at(per_sample_sum(grads * grads), args);
}

// Both backward ops are dg = a_b g with a_b = grad_out_b h(s_b). grad_penalty_backward
// sums s from g itself, so
//   d / d grad_out_b = h(s_b) <upstream_b, g_b>
//   d / d g          = a_b upstream + 2 grad_out_b h'(s_b) <upstream_b, g_b> g
// (s recomputed in ATen ops, so this is differentiable again).
struct GradPenaltyBackwardFunction : public torch::autograd::Function<GradPenaltyBackwardFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad_out, const at::Tensor& grads,
                            c10::string_view mode, double center, double p) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->save_for_backward({grad_out, grads});
    save_penalty_args(ctx, mode, center, p);
    return call_grad_penalty_backward(grad_out, grads, mode, center, p);
  }

  static variable_list backward(AutogradContext* ctx, variable_list upstreams) {
    const auto saved = ctx->get_saved_variables();
    const auto &grad_out = saved[0], &grads = saved[1], &upstream = upstreams[0];
    const auto [h, dh] = coefficient_and_slope(grads, penalty_args(ctx));
    const auto rg = per_sample_sum(upstream * grads);
    at::Tensor d_grad_out, d_grads;
    if (ctx->needs_input_grad(0)) d_grad_out = h * rg;
    if (ctx->needs_input_grad(1))
      d_grads = per_sample_view(grad_out * h, grads) * upstream + per_sample_view(2 * grad_out * dh * rg, grads) * grads;
    return {d_grad_out, d_grads, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// grad_penalty_backward_sumsq takes s as an input of its own:
//   d / d grad_out_b = h(s_b) <upstream_b, g_b>
//   d / d g          = a_b upstream
//   d / d s_b        = grad_out_b h'(s_b) <upstream_b, g_b>
struct GradPenaltyBackwardSumsqFunction : public torch::autograd::Function<GradPenaltyBackwardSumsqFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad_out, const at::Tensor& grads,
                            const at::Tensor& sumsq, c10::string_view mode, double center, double p) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->save_for_backward({grad_out, grads, sumsq});
    save_penalty_args(ctx, mode, center, p);
    return call_grad_penalty_backward_sumsq(grad_out, grads, sumsq, mode, center, p);
  }

  static variable_list backward(AutogradContext* ctx, variable_list upstreams) {
    const auto saved = ctx->get_saved_variables();
    const auto &grad_out = saved[0], &grads = saved[1], &sumsq = saved[2], &upstream = upstreams[0];
    auto [h, dh] = coefficient_and_slope_at(sumsq, penalty_args(ctx));
    h = h.to(grads.scalar_type());
    const auto rg = per_sample_sum(upstream * grads);
    at::Tensor d_grad_out, d_grads, d_sumsq;
    if (ctx->needs_input_grad(0)) d_grad_out = h * rg;
    if (ctx->needs_input_grad(1)) d_grads = per_sample_view(grad_out * h, grads) * upstream;
    if (ctx->needs_input_grad(2)) d_sumsq = grad_out.to(at::kDouble) * dh * rg.to(at::kDouble);
    return {d_grad_out, d_grads, d_sumsq, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// grad_penalty_forward called directly (grad_penalty's autograd calls it below
// autograd): penalty and sums of squares, both differentiable (d sumsq / d g = 2 g).
struct GradPenaltyForwardFunction : public torch::autograd::Function<GradPenaltyForwardFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grads, c10::string_view mode, double center,
                               double p) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    ctx->set_materialize_grads(false);  // an unused output costs no pass over g
    save_penalty_args(ctx, mode, center, p);
    auto [penalty, sumsq] = call_grad_penalty_forward(grads, mode, center, p);
    ctx->save_for_backward({grads, sumsq});
    return {penalty, sumsq};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &grads = saved[0], &sumsq = saved[1];
    const auto args = penalty_args(ctx);
    const auto &grad_penalty = grad_outputs[0], &grad_sumsq = grad_outputs[1];
    at::Tensor d_grads;
    if (ctx->needs_input_grad(0) && grad_penalty.defined()) {
      d_grads = at::GradMode::is_enabled()  // see GradPenaltyFunction::backward
                    ? call_grad_penalty_backward(grad_penalty, grads, args.mode, args.center, args.p)
                    : call_grad_penalty_backward_sumsq(grad_penalty, grads, sumsq, args.mode, args.center, args.p);
    }
    if (ctx->needs_input_grad(0) && grad_sumsq.defined()) {
      auto term = per_sample_view(2 * grad_sumsq.to(grads.scalar_type()), grads) * grads;
      d_grads = d_grads.defined() ? d_grads + term : term;
    }
    return {d_grads, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

std::tuple<at::Tensor, at::Tensor> grad_penalty_forward_autograd(const at::Tensor& grads, c10::string_view mode,
                                                                 double center, double p) {
  auto outputs = GradPenaltyForwardFunction::apply(grads, mode, center, p);
  return {outputs[0], outputs[1]};
}

at::Tensor gp_interpolate_autograd(const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps) {
  return GpInterpolateFunction::apply(real, fake, eps);
}

at::Tensor grad_penalty_autograd(const at::Tensor& grads, c10::string_view mode, double center, double p) {
  return GradPenaltyFunction::apply(grads, mode, center, p);
}

at::Tensor grad_penalty_backward_autograd(const at::Tensor& grad_out, const at::Tensor& grads, c10::string_view mode,
                                          double center, double p) {
  return GradPenaltyBackwardFunction::apply(grad_out, grads, mode, center, p);
}

at::Tensor grad_penalty_backward_sumsq_autograd(const at::Tensor& grad_out, const at::Tensor& grads,
                                                const at::Tensor& sumsq, c10::string_view mode, double center,
                                                double p) {
  return GradPenaltyBackwardSumsqFunction::apply(grad_out, grads, sumsq, mode, center, p);
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, Autograd, m) {
  m.impl("gp_interpolate", &gp_interpolate_autograd);
  m.impl("grad_penalty", &grad_penalty_autograd);
  m.impl("grad_penalty_backward", &grad_penalty_backward_autograd);
  m.impl("grad_penalty_forward", &grad_penalty_forward_autograd);
  m.impl("grad_penalty_backward_sumsq", &grad_penalty_backward_sumsq_autograd);
}

}  // namespace genreg
