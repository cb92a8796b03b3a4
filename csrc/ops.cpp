// genreg's operator schemas, all in one place. Kernels live in csrc/cpu (OpenMP)
// and csrc/cuda; autograd is in csrc/autograd.cpp (gp_interpolate, grad_penalty)
// or registered from Python (conv1d_block), fake-tensor rules from Python
// (genreg/kernels/_ops.py), so the ops work under autograd and torch.compile.
#include <Python.h>
#include <torch/library.h>
#include <torch/version.h>

#include "cpu/conv1d_engine.h"

TORCH_LIBRARY(genreg, m) {
  // x_hat = eps * real + (1 - eps) * fake, eps one per sample (shape (B,)).
  m.def("gp_interpolate(Tensor real, Tensor fake, Tensor eps) -> Tensor");
  // Per-sample penalty on critic gradients, norm over all non-batch dims, shape (B,):
  // mode "gp": (||g|| - center)^2; mode "div": ||g||^p.
  m.def("grad_penalty(Tensor grads, str mode, float center, float p) -> Tensor");
  // d(sum grad_out * grad_penalty(grads)) / d grads; recomputes the norms.
  m.def("grad_penalty_backward(Tensor grad_out, Tensor grads, str mode, float center, float p) -> Tensor");
  // The same pair with the per-sample sums of squares (float64, shape (B,)) handed from
  // forward to backward, so the backward reads g once. The autograd of grad_penalty
  // (csrc/autograd.cpp) uses them on backends that have them (CPU), else the pair above.
  m.def("grad_penalty_forward(Tensor grads, str mode, float center, float p) -> (Tensor, Tensor)");
  m.def("grad_penalty_backward_sumsq(Tensor grad_out, Tensor grads, Tensor sumsq, str mode, float center, "
        "float p) -> Tensor");
  // y = max_pool1d(act(conv1d(x, weight, 'same') + bias), 2) (pool optional); act is
  // relu, leaky_relu or none. Also returns a uint8 code per output (which of the
  // pooled pair won, and whether its pre-activation was > 0) for the backward.
  m.def("conv1d_block_forward(Tensor x, Tensor weight, Tensor? bias, str activation, float negative_slope, "
        "bool pool) -> (Tensor, Tensor)");
  // Gradients of the block w.r.t. x, weight and bias (bias: empty when has_bias is false).
  m.def("conv1d_block_backward(Tensor grad_out, Tensor x, Tensor weight, Tensor code, str activation, "
        "float negative_slope, bool pool, bool has_bias) -> (Tensor, Tensor, Tensor)");
  // The decoder block: y = act(conv1d(upsample_nearest(x, size), weight, 'same') + bias),
  // the upsample to exactly `size` positions (torch's nearest rule). Also returns a
  // uint8 code per output (whether its pre-activation was > 0) for the backward.
  m.def("upconv1d_block_forward(Tensor x, Tensor weight, Tensor? bias, int size, str activation, "
        "float negative_slope) -> (Tensor, Tensor)");
  // Gradients of the decoder block w.r.t. x, weight and bias (bias: empty when has_bias is false).
  m.def("upconv1d_block_backward(Tensor grad_out, Tensor x, Tensor weight, Tensor code, int size, "
        "str activation, float negative_slope, bool has_bias) -> (Tensor, Tensor, Tensor)");
}

#define GENREG_STR2(x) #x
#define GENREG_STR(x) GENREG_STR2(x)

// `import genreg._C` loads this library, which registers the ops above with the
// dispatcher. The module itself only describes how it was built.
static struct PyModuleDef genreg_module = {PyModuleDef_HEAD_INIT, "_C",
                                           "genreg's fused kernels (ops in torch.ops.genreg)",
                                           -1, nullptr};

PyMODINIT_FUNC PyInit__C(void) {
  PyObject* m = PyModule_Create(&genreg_module);
  if (m == nullptr) return nullptr;
  PyModule_AddStringConstant(m, "BUILT_WITH_TORCH",
                             GENREG_STR(TORCH_VERSION_MAJOR) "." GENREG_STR(TORCH_VERSION_MINOR) "." GENREG_STR(TORCH_VERSION_PATCH));
  // the instruction set the conv1d loops picked on this CPU (GENREG_CPU_ISA can lower it)
  PyModule_AddStringConstant(m, "CPU_ISA", genreg::conv1d::active_isa());
#ifdef _OPENMP
  PyModule_AddIntConstant(m, "WITH_OPENMP", 1);
#else
  PyModule_AddIntConstant(m, "WITH_OPENMP", 0);
#endif
#ifdef GENREG_WITH_CUDA
  PyModule_AddIntConstant(m, "WITH_CUDA", 1);
#else
  PyModule_AddIntConstant(m, "WITH_CUDA", 0);
#endif
  return m;
}
