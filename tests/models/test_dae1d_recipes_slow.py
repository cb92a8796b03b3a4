"""The dae1d presets (issue 14): trained by `genreg train dae1d --preset KIND` and scored by
`genreg eval`'s functions on 2000 test traces at SNR 2-3 (slow: the preset's full step budget
on CPU; run with `pytest -m slow`).

Targets (issue 14): on realistic noise >= 85 % accuracy and >= 20 points above the classical
band-pass + notch filter. Uniform and cosine noise are stated the same way, with the bars their
measured figures support (see genreg/builtins/presets.py): on white (uniform) noise the classical
filter scores below the raw trace, so the bar there is the noisy input; on a single cosine the
classical notch is near-perfect, so the DAE is held to within a few points of it.
"""

import pytest

from genreg.cli import main
from genreg.eval import evaluate

pytestmark = pytest.mark.slow

LOW_SNR = {"snr": [2, 3]}


def _train_preset_and_score(tmp_path, kind):
    run = tmp_path / kind
    assert main(["train", "dae1d", "--preset", kind, "--out", str(run), "--quiet", "train.device=cpu",
                 "train.sample_every=0"]) == 0
    m = evaluate(run, run / "eval", data_overrides=LOW_SNR)
    assert m["n_test"] == 2000 and m["data"]["snr"] in ([2, 3], [2.0, 3.0], (2.0, 3.0)), m["data"]
    return m


def test_dae1d_realistic_finds_the_pulse_at_snr_2_3_far_above_the_classical_filter(tmp_path):
    m = _train_preset_and_score(tmp_path, "realistic")
    assert m["accuracy"] >= 0.85, m["accuracy"]
    assert m["accuracy"] - m["accuracy_classical"] >= 0.20, (m["accuracy"], m["accuracy_classical"])
    assert m["accuracy"] > m["accuracy_baseline"], (m["accuracy"], m["accuracy_baseline"])


def test_dae1d_uniform_at_snr_2_3(tmp_path):
    m = _train_preset_and_score(tmp_path, "uniform")
    assert m["accuracy"] >= UNIFORM["accuracy"], m["accuracy"]
    assert m["accuracy"] - m["accuracy_classical"] >= UNIFORM["above_classical"], (m["accuracy"], m["accuracy_classical"])
    assert m["accuracy"] - m["accuracy_baseline"] >= UNIFORM["above_noisy"], (m["accuracy"], m["accuracy_baseline"])


def test_dae1d_cosine_at_snr_2_3(tmp_path):
    m = _train_preset_and_score(tmp_path, "cosine")
    assert m["accuracy"] >= COSINE["accuracy"], m["accuracy"]
    assert m["accuracy"] - m["accuracy_classical"] >= COSINE["above_classical"], (m["accuracy"], m["accuracy_classical"])
    assert m["accuracy"] - m["accuracy_baseline"] >= COSINE["above_noisy"], (m["accuracy"], m["accuracy_baseline"])
