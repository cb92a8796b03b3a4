"""What this installation has: versions, devices, and which fused kernels are built."""

from __future__ import annotations

import platform

from ._version import HOOK_API_VERSION, __version__


def collect() -> dict:
    import torch

    from . import kernels

    state = kernels.extension_state()
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    ops = {}
    for op in state.ops:
        ops[op] = {dev: kernels.has_kernel(op, dev) for dev in ("cpu", "cuda")}
    return {
        "genreg": __version__,
        "hook_api": HOOK_API_VERSION,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "threads": torch.get_num_threads(),
        "devices": devices,
        "kernel_backend": kernels.get_backend(),
        "extension": {
            "loaded": state.loaded,
            "error": state.error,
            "path": state.path,
            "built_with_torch": state.built_with_torch,
            "openmp": state.with_openmp,
            "cpu_isa": state.cpu_isa,
            "cuda": state.with_cuda,
        },
        "fused_ops": ops,
    }


def format_text(info: dict) -> str:
    ext = info["extension"]
    lines = [
        f"genreg       {info['genreg']} (hook API {info['hook_api']})",
        f"python       {info['python']}",
        f"torch        {info['torch']}" + (f" (CUDA {info['torch_cuda']})" if info["torch_cuda"] else " (CPU build)"),
        f"threads      {info['threads']}",
        f"devices      {', '.join(info['devices'])}",
        f"kernels      backend={info['kernel_backend']}",
    ]
    if ext["loaded"]:
        lines.append(f"extension    loaded from {ext['path']} (built with torch {ext['built_with_torch']}, "
                     f"OpenMP {'on' if ext['openmp'] else 'off'}, CUDA {'on' if ext['cuda'] else 'off'}, "
                     f"CPU loops {ext.get('cpu_isa') or 'n/a'})")
        for op, backends in info["fused_ops"].items():
            have = [dev for dev, ok in backends.items() if ok]
            lines.append(f"  {op:<24} fused on {', '.join(have) if have else 'no device'}")
    else:
        lines.append(f"extension    not loaded: {ext['error']}")
        lines.append("             every op runs on the pure-PyTorch reference path")
    return "\n".join(lines)
