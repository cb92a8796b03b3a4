// Input checks shared by the CPU and CUDA kernels of genreg::grad_penalty_forward and
// genreg::grad_penalty_backward, so both backends reject the same inputs with the
// same messages.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

namespace genreg {

// grads: floating point, with a batch dimension, on the kernel's device type.
inline void check_grad_penalty_grads(const at::Tensor& grads, c10::DeviceType device, const char* op) {
  TORCH_CHECK(grads.dim() >= 1, op, ": grads must have a batch dimension, got a 0-d tensor");
  TORCH_CHECK(at::isFloatingType(grads.scalar_type()), op, ": grads must be floating point, got ",
              grads.scalar_type());
  TORCH_CHECK(grads.device().type() == device, op, ": the ", c10::DeviceTypeName(device),
              " kernel got a tensor on ", grads.device());
}

// grad_out of grad_penalty_backward: one value per sample, grads' dtype and device.
inline void check_grad_penalty_grad_out(const at::Tensor& grad_out, const at::Tensor& grads, const char* op) {
  TORCH_CHECK(grad_out.dim() == 1 && grad_out.size(0) == grads.size(0), op, ": grad_out must have shape (",
              grads.size(0), ",), got ", grad_out.sizes());
  TORCH_CHECK(grad_out.scalar_type() == grads.scalar_type(), op, ": grad_out has dtype ", grad_out.scalar_type(),
              ", expected ", grads.scalar_type());
  TORCH_CHECK(grad_out.device() == grads.device(), op, ": grad_out and grads are on different devices");
}

// sumsq of grad_penalty_backward: the forward's per-sample sums of squares, float64 (B,).
inline void check_grad_penalty_sumsq(const at::Tensor& sumsq, const at::Tensor& grads, const char* op) {
  TORCH_CHECK(sumsq.dim() == 1 && sumsq.size(0) == grads.size(0) && sumsq.scalar_type() == at::kDouble &&
                  sumsq.device() == grads.device(),
              op, ": sumsq must be float64 of shape (", grads.size(0), ",) on ", grads.device(), ", got ",
              sumsq.scalar_type(), " ", sumsq.sizes(), " on ", sumsq.device());
}

}  // namespace genreg
