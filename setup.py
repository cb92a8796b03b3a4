"""Builds genreg's native extension, genreg._C, from csrc/.

C++ with OpenMP always; the CUDA sources too when the installed torch has CUDA and
nvcc is found. The extension is optional: when it cannot be built, the install
still succeeds (with a warning) and genreg runs on its pure-PyTorch reference path.

Switches:
  GENREG_NO_EXT=1        do not build the extension at all
  GENREG_NO_CUDA=1       build the C++ kernels only
  GENREG_REQUIRE_EXT=1   fail the install if the extension does not build
  GENREG_CUDA_ARCH=...   passed on as TORCH_CUDA_ARCH_LIST (default: the visible GPUs)
"""

import glob
import os
import sys

from setuptools import setup


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _extensions():
    if _flag("GENREG_NO_EXT"):
        print("genreg: GENREG_NO_EXT is set, skipping the native extension", file=sys.stderr)
        return [], {}
    try:
        import torch
        from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
    except ImportError as exc:
        print(f"genreg: torch is not importable ({exc}); install torch first and build with "
              "--no-build-isolation to get the fused kernels", file=sys.stderr)
        return [], {}

    class OptionalBuildExtension(BuildExtension):
        """A failed compile warns instead of failing the install, unless required."""

        def build_extension(self, ext):
            try:
                super().build_extension(ext)
            except Exception as exc:
                if _flag("GENREG_REQUIRE_EXT"):
                    raise
                print(f"genreg: WARNING: building {ext.name} failed ({exc}); genreg will use its "
                      "reference kernels. Set GENREG_REQUIRE_EXT=1 to see this as an error.", file=sys.stderr)

    here = os.path.dirname(os.path.abspath(__file__))
    rel = lambda pattern: sorted(os.path.relpath(p, here) for p in glob.glob(os.path.join(here, pattern)))
    sources = rel("csrc/*.cpp") + rel("csrc/cpu/*.cpp") + rel("csrc/autograd/*.cpp")
    # no errno from sqrt & co.: genreg never reads it, and setting it keeps loops with a
    # sqrt (the Adam step) from vectorising
    cxx_flags = ["-O3", "-fopenmp", "-fno-math-errno"]
    link_flags = ["-fopenmp"]
    with_cuda = torch.version.cuda is not None and CUDA_HOME is not None and not _flag("GENREG_NO_CUDA")
    if with_cuda:
        if os.environ.get("GENREG_CUDA_ARCH"):
            os.environ["TORCH_CUDA_ARCH_LIST"] = os.environ["GENREG_CUDA_ARCH"]
        ext = CUDAExtension(
            "genreg._C",
            sources + rel("csrc/cuda/*.cu"),
            extra_compile_args={"cxx": cxx_flags + ["-DGENREG_WITH_CUDA"],
                                "nvcc": ["-O3", "-DGENREG_WITH_CUDA"]},
            extra_link_args=link_flags,
        )
    else:
        ext = CppExtension("genreg._C", sources, extra_compile_args={"cxx": cxx_flags},
                           extra_link_args=link_flags)
    return [ext], {"build_ext": OptionalBuildExtension.with_options(use_ninja=True)}


ext_modules, cmdclass = _extensions()
setup(ext_modules=ext_modules, cmdclass=cmdclass)
