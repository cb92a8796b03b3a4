// adam_step_ updates parameters in place and has no derivative. Autograd: an error if
// a tensor it updates needs a gradient under grad mode (as torch.optim runs under
// no_grad). ADInplaceOrView: the version counter of every tensor it updates is bumped,
// as any in-place ATen op does, so a graph saved before the update refuses to run
// backward through the old values (torch's generic fallbacks do not reach tensor lists).
#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/library.h>

namespace genreg {
namespace {

using AdamStepFn = at::Tensor(at::TensorList, at::TensorList, at::TensorList, at::TensorList, at::TensorList,
                              double, double, double, double, double);

const c10::TypedOperatorHandle<AdamStepFn>& adam_step_op() {
  static auto op = c10::Dispatcher::singleton().findSchemaOrThrow("genreg::adam_step_", "").typed<AdamStepFn>();
  return op;
}

at::Tensor adam_step_autograd(c10::DispatchKeySet ks, at::TensorList params, at::TensorList exp_avgs,
                              at::TensorList exp_avg_sqs, at::TensorList grads, at::TensorList steps, double lr,
                              double beta1, double beta2, double eps, double weight_decay) {
  if (at::GradMode::is_enabled()) {
    for (at::TensorList list : {params, exp_avgs, exp_avg_sqs}) {
      for (const at::Tensor& t : list) {
        TORCH_CHECK(!t.requires_grad(), "adam_step_ updates tensors in place and has no derivative: call it "
                                        "under torch.no_grad() (a tensor it updates requires grad)");
      }
    }
  }
  at::AutoDispatchBelowAutograd guard;
  return adam_step_op().redispatch(ks & c10::after_autograd_keyset, params, exp_avgs, exp_avg_sqs, grads, steps,
                                   lr, beta1, beta2, eps, weight_decay);
}

at::Tensor adam_step_inplace_or_view(c10::DispatchKeySet ks, at::TensorList params, at::TensorList exp_avgs,
                                     at::TensorList exp_avg_sqs, at::TensorList grads, at::TensorList steps,
                                     double lr, double beta1, double beta2, double eps, double weight_decay) {
  at::Tensor flag;
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    flag = adam_step_op().redispatch(ks & c10::after_ADInplaceOrView_keyset, params, exp_avgs, exp_avg_sqs, grads, steps, lr,
                         beta1, beta2, eps, weight_decay);
  }
  for (at::TensorList list : {params, exp_avgs, exp_avg_sqs}) {
    for (const at::Tensor& t : list) torch::autograd::impl::bump_version(t);
  }
  return flag;
}

}  // namespace

TORCH_LIBRARY_IMPL(genreg, Autograd, m) { m.impl("adam_step_", &adam_step_autograd); }

TORCH_LIBRARY_IMPL(genreg, ADInplaceOrView, m) { m.impl("adam_step_", &adam_step_inplace_or_view); }

}  // namespace genreg
