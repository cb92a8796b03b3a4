"""`genreg export`: artefacts per family and format, checked in a Python where genreg cannot be imported."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import genreg
from genreg.cli import main
from genreg.inference.export import exportable

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="the [onnx] extra (onnx, onnxscript, onnxruntime) is not installed")
SUFFIX = {"torchscript": ".pt", "exported-program": ".pt2", "onnx": ".onnx"}

# Runs in a fresh interpreter (-I: no PYTHONPATH, no user site) with every genreg import
# blocked; one interpreter runs all artefacts (each job: format, artefact, input files, output file).
STANDALONE = r"""
import importlib.abc, json, sys

class NoGenreg(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "genreg" or name.startswith("genreg.") or name.startswith("genreg_"):
            raise ImportError("genreg is not importable here")

sys.meta_path.insert(0, NoGenreg())
try:
    import genreg
    sys.exit("genreg was importable")
except ImportError:
    pass
import numpy as np
for fmt, path, inputs, result in json.loads(sys.argv[1]):
    arrays = [np.load(p) for p in inputs]
    if fmt == "onnx":
        import onnxruntime
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        out = session.run(None, dict(zip(names, arrays)))[0]
    else:
        import torch
        tensors = [torch.from_numpy(a) for a in arrays]
        module = torch.jit.load(path) if fmt == "torchscript" else torch.export.load(path).module()
        out = module(*tensors).detach().numpy()
    np.save(result, out)
assert not [m for m in sys.modules if m.split(".")[0] == "genreg"], "genreg got imported"
"""

onnx_case = lambda name, *marks: pytest.param(name, "onnx", marks=[needs_onnx, *marks], id=f"{name}-onnx")
CASES = [
    ("dae1d", "torchscript"), ("dae1d", "exported-program"), onnx_case("dae1d"),   # a denoiser
    ("dae1d-lines", "torchscript"), ("dae1d-lines", "exported-program"),            # with its line removal (FFTs)
    ("mlp-gan", "torchscript"), ("mlp-gan", "exported-program"),                    # point generator
    onnx_case("acgan-ring8", pytest.mark.slow),
    ("vae", "torchscript"),                                                         # a VAE's decoder
    ("dcgan", "torchscript"), ("trace-gan", "torchscript"),                         # image / trace generators
    ("acgan-ring8", "torchscript"), ("acgan-images", "exported-program"),           # conditional: (z, y)
]


def _case_values(case):
    return tuple(case.values) if hasattr(case, "values") else case


@pytest.fixture(scope="module")
def artefacts(runs, tmp_path_factory, request):
    """Every case exported through the CLI, then run in ONE genreg-free interpreter on fresh
    inputs (batch 4, not the traced one): {(name, fmt): (stdout line, outputs there, expected)}."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("export")
    jobs, made = [], {}
    for case in CASES:
        name, fmt = _case_values(case)
        slow = any(m.name == "slow" for m in getattr(case, "marks", ()))
        if fmt == "onnx" and not HAS_ONNX or slow and "slow" not in (request.config.getoption("-m") or ""):
            continue
        model = genreg.load(runs(name))
        path = root / f"{name}{SUFFIX[fmt]}"
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["export", str(runs(name)), "--format", fmt, "--out", str(path)]) == 0
        ex = exportable(model)
        inputs = ex.make_inputs(4, torch.Generator().manual_seed(123))
        files = []
        for i, t in enumerate(inputs):
            files.append(str(root / f"{name}-{fmt}-in{i}.npy"))
            np.save(files[-1], t.numpy())
        with torch.no_grad():
            expected = ex.module(*inputs).numpy()
        result = root / f"{name}-{fmt}-out.npy"
        jobs.append([fmt, str(path), files, str(result)])
        made[(name, fmt)] = (buffer.getvalue(), result, expected, path)
    assert not list(root.glob(".*part*"))  # the checked artefact was moved into place
    proc = subprocess.run([sys.executable, "-I", "-c", STANDALONE, json.dumps(jobs)], capture_output=True, text=True,
                          cwd=root, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {key: (line, np.load(result), expected, path) for key, (line, result, expected, path) in made.items()}


@pytest.mark.parametrize("name, fmt", CASES)
def test_exported_artefact_runs_without_genreg_and_matches(artefacts, name, fmt):
    line, got, expected, _ = artefacts[(name, fmt)]
    what = {"dae1d": "denoiser", "dae1d-lines": "denoiser", "vae": "decoder"}.get(name, "generator")
    assert f"exported the {what} of" in line and "largest difference to the model on random inputs" in line
    assert float(line.rsplit(" ", 1)[-1]) <= 1e-3
    if name.startswith("acgan"):
        assert "y (B,)" in line  # conditional generators take labels
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(expected).max())))


def test_exported_denoiser_takes_raw_units(runs, artefacts):
    """The training data's per-trace normalisation is inside the graph: mV in, mV out."""
    model = genreg.load(runs("dae1d"))
    artefact = torch.export.load(str(artefacts[("dae1d", "exported-program")][3])).module()
    traces = torch.randn(3, 1, 500) * 40.0 + 5.0
    torch.testing.assert_close(artefact(traces), torch.from_numpy(model.denoise(traces.numpy())), rtol=1e-4, atol=1e-3)


def test_exported_generator_maps_latents_like_sample(runs, artefacts):
    model = genreg.load(runs("mlp-gan"))
    artefact = torch.export.load(str(artefacts[("mlp-gan", "exported-program")][3])).module()
    torch.testing.assert_close(artefact(model.latents(0, 6, seed=9)), torch.from_numpy(model.sample(6, seed=9)[0]),
                               rtol=1e-5, atol=1e-6)


def test_export_errors_are_one_line(runs, tmp_path, capsys, monkeypatch):
    cases = [
        (["export", str(runs("dae1d")), "--format", "exported-program", "--out", str(tmp_path / "x.pt")], ".pt2"),
        (["export", str(runs("dae1d")), "--format", "torchscript", "--out", str(tmp_path / "no" / "x.pt")],
         "does not exist"),
        (["export", str(tmp_path), "--format", "torchscript", "--out", str(tmp_path / "x.pt")], None),
    ]
    for args, fragment in cases:
        capsys.readouterr()
        assert main(args) in (1, 2)
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and (fragment is None or fragment in err), err
    # without the [onnx] extra: a clear one-line error naming the extra
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name.split(".")[0] in ("onnx", "onnxscript", "onnxruntime"):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    capsys.readouterr()
    assert main(["export", str(runs("mlp-gan")), "--format", "onnx", "--out", str(tmp_path / "g.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'genreg[onnx]'" in err
