// genreg's operators: THE list (Python reads it as genreg._C.OPS), with each schema.
//
// Where each part of an op lives (docs/kernels.md, "Layout"):
//   schema    here, in kOps
//   kernels   csrc/cpu/<op>.cpp (OpenMP) and csrc/cuda/<op>.cu, each registering its
//             backend with TORCH_LIBRARY_IMPL(genreg, CPU|CUDA, m) at its end
//   autograd  csrc/autograd/*.cpp, in C++ for every op (the Autograd key, above every
//             backend): no Python runs per call
//   fake      genreg/kernels/_ops.py (torch.library.register_fake), for torch.compile
// so a new backend of an existing op is one file with its TORCH_LIBRARY_IMPL, and a
// new op is a line here, its kernels, its autograd and its fake rule.
#include <Python.h>
#include <torch/library.h>
#include <torch/version.h>

#include "cpu/isa.h"

namespace {

const char* const kOps[] = {
    // x_hat = eps * real + (1 - eps) * fake, eps one per sample (shape (B,)).
    "gp_interpolate(Tensor real, Tensor fake, Tensor eps) -> Tensor",
    // Per-sample penalty on critic gradients, norm over all non-batch dims, shape (B,):
    // mode "gp": (||g|| - center)^2; mode "div": ||g||^p. Also returns each sample's
    // sum of squares s = ||g||^2 (float64, shape (B,)), which the backward takes.
    "grad_penalty_forward(Tensor grads, str mode, float center, float p) -> (Tensor, Tensor)",
    // d(sum grad_out * penalty(grads)) / d grads, from the forward's s.
    "grad_penalty_backward(Tensor grad_out, Tensor grads, Tensor sumsq, str mode, float center, float p) -> Tensor",
    // y = max_pool1d(act(conv1d(x, weight, 'same') + bias), 2) (pool optional); act is
    // relu, leaky_relu or none. Also returns a uint8 code per output (which of the
    // pooled pair won, and whether its pre-activation was > 0) for the backward.
    "conv1d_block_forward(Tensor x, Tensor weight, Tensor? bias, str activation, float negative_slope, "
    "bool pool) -> (Tensor, Tensor)",
    // Gradients of the block w.r.t. x, weight and bias (bias: empty when has_bias is false).
    "conv1d_block_backward(Tensor grad_out, Tensor x, Tensor weight, Tensor code, str activation, "
    "float negative_slope, bool pool, bool has_bias) -> (Tensor, Tensor, Tensor)",
    // The decoder block: y = act(conv1d(upsample_nearest(x, size), weight, 'same') + bias),
    // the upsample to exactly `size` positions (torch's nearest rule). Also returns a
    // uint8 code per output (whether its pre-activation was > 0) for the backward.
    "upconv1d_block_forward(Tensor x, Tensor weight, Tensor? bias, int size, str activation, "
    "float negative_slope) -> (Tensor, Tensor)",
    // Gradients of the decoder block w.r.t. x, weight and bias (bias: empty when has_bias is false).
    "upconv1d_block_backward(Tensor grad_out, Tensor x, Tensor weight, Tensor code, int size, "
    "str activation, float negative_slope, bool has_bias) -> (Tensor, Tensor, Tensor)",
    // One Adam update (L2 weight decay) of float32 tensors that checks each gradient as
    // it reads it; steps: each parameter's step count, this update included. Returns a
    // 0-d bool: true when every gradient was finite. When one is not, the update stops
    // there, and what came before it in the lists is updated (CPU only: see
    // genreg/kernels/adam.py).
    "adam_step_(Tensor(a!)[] params, Tensor(b!)[] exp_avgs, Tensor(c!)[] exp_avg_sqs, Tensor[] grads, "
    "Tensor[] steps, float lr, float beta1, float beta2, float eps, float weight_decay) -> Tensor",
};

}  // namespace

TORCH_LIBRARY(genreg, m) {
  for (const char* schema : kOps) m.def(schema);
}

#define GENREG_STR2(x) #x
#define GENREG_STR(x) GENREG_STR2(x)

// `import genreg._C` loads this library, which registers the ops above with the
// dispatcher. The module itself only describes how it was built, and lists the ops.
static struct PyModuleDef genreg_module = {PyModuleDef_HEAD_INIT, "_C",
                                           "genreg's fused kernels (ops in torch.ops.genreg)",
                                           -1, nullptr};

PyMODINIT_FUNC PyInit__C(void) {
  PyObject* m = PyModule_Create(&genreg_module);
  if (m == nullptr) return nullptr;
  PyModule_AddStringConstant(m, "BUILT_WITH_TORCH",
                             GENREG_STR(TORCH_VERSION_MAJOR) "." GENREG_STR(TORCH_VERSION_MINOR) "." GENREG_STR(TORCH_VERSION_PATCH));
  // the instruction set the CPU loops picked on this CPU (GENREG_CPU_ISA can lower it)
  PyModule_AddStringConstant(m, "CPU_ISA", genreg::cpu::isa_name());
  // the op names, from their schemas
  const Py_ssize_t count = sizeof(kOps) / sizeof(kOps[0]);
  PyObject* names = PyTuple_New(count);
  if (names == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < count; ++i) {
    const char* schema = kOps[i];
    const char* paren = schema;
    while (*paren != '\0' && *paren != '(') ++paren;
    PyTuple_SET_ITEM(names, i, PyUnicode_FromStringAndSize(schema, paren - schema));
  }
  PyModule_AddObject(m, "OPS", names);
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
