"""The backend switches and what `genreg info` says about the extension, each in a
fresh interpreter (the extension is loaded once per process)."""

import json
import os
import subprocess
import sys

import pytest
import torch

from genreg import kernels

PROBE = """
import json, torch
from genreg import kernels
torch.manual_seed(0)
g = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
pen = kernels.grad_penalty(g, "gp", 1.0)
(d,) = torch.autograd.grad(pen.sum(), g)
x = kernels.gp_interpolate(g.detach(), torch.zeros_like(g), torch.full((4,), 0.25, dtype=torch.float64))
print(json.dumps({"resolve": kernels.resolve("grad_penalty", "cpu"), "pen": pen.tolist(),
                  "grad_sum": d.sum().item(), "interp_sum": x.sum().item(),
                  "loaded": kernels.extension_state().loaded}))
"""


def run_python(code_or_args, **env):
    full_env = {**os.environ, **env}
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else [sys.executable, *code_or_args]
    done = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def expected():
    torch.manual_seed(0)
    g = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    pen = kernels.reference.grad_penalty(g, "gp", 1.0)
    (d,) = torch.autograd.grad(pen.sum(), g)
    return pen.tolist(), d.sum().item(), (g.detach() * 0.25).sum().item()


def check_against_reference(result):
    pen, grad_sum, interp_sum = expected()
    assert result["pen"] == pytest.approx(pen, rel=1e-12)
    assert result["grad_sum"] == pytest.approx(grad_sum, rel=1e-9, abs=1e-12)
    assert result["interp_sum"] == pytest.approx(interp_sum, rel=1e-12)


def test_genreg_kernels_reference_env():
    result = json.loads(run_python(PROBE, GENREG_KERNELS="reference"))
    assert result["resolve"] == "reference"
    check_against_reference(result)


def test_auto_uses_the_extension_when_loaded():
    result = json.loads(run_python(PROBE, GENREG_KERNELS="auto"))
    assert result["loaded"] == kernels.extension_state().loaded
    assert result["resolve"] == ("fused" if kernels.has_kernel("grad_penalty", "cpu") else "reference")
    check_against_reference(result)


def test_disabled_extension_still_runs_on_reference():
    result = json.loads(run_python(PROBE, GENREG_DISABLE_EXT="1", GENREG_KERNELS="auto"))
    assert not result["loaded"] and result["resolve"] == "reference"
    check_against_reference(result)


def test_fused_backend_with_disabled_extension_is_a_clear_error():
    code = "import torch; from genreg import kernels; kernels.grad_penalty(torch.randn(2, 3))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GENREG_DISABLE_EXT": "1", "GENREG_KERNELS": "fused"})
    assert done.returncode != 0
    assert "GENREG_KERNELS=fused but grad_penalty cannot run fused: disabled by GENREG_DISABLE_EXT" in done.stderr


def test_info_reports_extension_truthfully(capsys):
    from genreg.cli import main

    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    state = kernels.extension_state()
    assert info["extension"]["loaded"] == state.loaded
    if state.loaded:
        for op in ("gp_interpolate", "grad_penalty_forward", "grad_penalty_backward", "conv1d_block_forward"):
            assert info["fused_ops"][op]["cpu"] is True
            assert info["fused_ops"][op]["cuda"] == kernels.has_kernel(op, "cuda")
        assert main(["info"]) == 0
        text = capsys.readouterr().out
        assert "extension    loaded from" in text and "grad_penalty" in text
    else:
        assert info["fused_ops"] == {}


INFO_BOTH = """
from genreg.cli import main
main(["info", "--json"])
print("=====")
main(["info"])
"""


def test_info_with_disabled_extension():
    out = run_python(INFO_BOTH, GENREG_DISABLE_EXT="1")
    as_json, text = out.split("=====")
    info = json.loads(as_json)
    assert info["extension"]["loaded"] is False
    assert info["extension"]["error"] == "disabled by GENREG_DISABLE_EXT"
    assert info["fused_ops"] == {}
    assert "extension    not loaded: disabled by GENREG_DISABLE_EXT" in text
    assert "reference path" in text
