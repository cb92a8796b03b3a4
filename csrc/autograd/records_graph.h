// The rule every genreg autograd kernel applies first: record a node only when grad mode
// is on and an input needs a gradient. Otherwise the kernel calls the op below autograd
// directly, which skips the node's saved tensors and arguments -- about 3 us a call, as
// much as the penalty kernel itself at 256x1x500. The penalty's plain backward pass
// (no create_graph) and every inference call take this path.
#pragma once
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>

#include <optional>

namespace genreg {

inline bool needs_grad(const at::Tensor& t) { return t.defined() && t.requires_grad(); }
inline bool needs_grad(const std::optional<at::Tensor>& t) { return t.has_value() && needs_grad(*t); }

template <typename... Inputs>
bool records_graph(const Inputs&... inputs) {
  return at::GradMode::is_enabled() && (needs_grad(inputs) || ...);
}

}  // namespace genreg
