"""The dae1d presets (issue 14): trained by `genreg train dae1d --preset KIND` and scored by
`genreg eval`'s functions on 2000 test traces at SNR 2-3 (slow: the preset's full step budget
on CPU, one training per noise kind; run with `pytest -m slow`).

Issue 14's targets on realistic noise: >= 85 % accuracy and >= 20 points above the classical
band-pass + notch filter (73.5 %), both asserted: the preset fits and subtracts 3 interference
lines before its encoder (model.line_removal) and measured 95.9 % (85.8-86.2 % without the
line removal; a blind generalised-likelihood detector after the same line removal 96.5 %,
scripts/dae_ceiling.py). Uniform and
cosine noise are stated the same way, each held to its measured figures with a margin (see
genreg/builtins/presets.py): on white (uniform) noise the classical filter scores below the
raw trace; on a single cosine the classical notch is near-perfect.
"""

import pytest

from genreg.cli import main
from genreg.eval import evaluate

pytestmark = pytest.mark.slow

LOW_SNR = {"snr": [2, 3]}
_SCORES: dict = {}


def scores(tmp_path_factory, kind):
    """The preset trained once per noise kind (module cache), scored at SNR 2-3."""
    if kind not in _SCORES:
        run = tmp_path_factory.mktemp(f"dae1d-{kind}")
        assert main(["train", "dae1d", "--preset", kind, "--out", str(run), "--quiet", "train.device=cpu",
                     "train.sample_every=0"]) == 0
        m = evaluate(run, run / "eval", data_overrides=LOW_SNR)
        assert m["n_test"] == 2000 and list(m["data"]["snr"]) == [2.0, 3.0], m["data"]
        _SCORES[kind] = m
    return _SCORES[kind]


def test_dae1d_realistic_finds_the_pulse_at_snr_2_3_well_above_both_baselines(tmp_path_factory):
    m = scores(tmp_path_factory, "realistic")
    assert m["accuracy"] >= 0.85, m["accuracy"]
    assert m["accuracy"] - m["accuracy_classical"] >= 0.10, (m["accuracy"], m["accuracy_classical"])
    assert m["accuracy"] - m["accuracy_baseline"] >= 0.40, (m["accuracy"], m["accuracy_baseline"])


def test_dae1d_realistic_is_20_points_above_the_classical_filter(tmp_path_factory):
    # measured: 95.9 % against the filter's 73.5 % (22.4 points)
    m = scores(tmp_path_factory, "realistic")
    assert m["accuracy"] - m["accuracy_classical"] >= 0.20, (m["accuracy"], m["accuracy_classical"])


def test_dae1d_uniform_at_snr_2_3_beats_the_noisy_input_and_the_classical_filter(tmp_path_factory):
    # measured: 94.9 %, noisy input 90.4 %, classical 76.9 % (the filter loses to the raw trace
    # on white noise); 18 points above the classical filter, short of the realistic target's 20
    m = scores(tmp_path_factory, "uniform")
    assert m["accuracy"] >= 0.93, m["accuracy"]
    assert m["accuracy"] - m["accuracy_baseline"] >= 0.02, (m["accuracy"], m["accuracy_baseline"])
    assert m["accuracy"] - m["accuracy_classical"] >= 0.15, (m["accuracy"], m["accuracy_classical"])


def test_dae1d_cosine_at_snr_2_3_matches_the_classical_notch(tmp_path_factory):
    # measured: 100 %, noisy input 95.9 %, classical 99.7 %: one cosine is what a notch is for,
    # so the bar is to stay level with it, not 20 points above (there are not 20 points left)
    m = scores(tmp_path_factory, "cosine")
    assert m["accuracy"] >= 0.99, m["accuracy"]
    assert m["accuracy"] - m["accuracy_baseline"] >= 0.03, (m["accuracy"], m["accuracy_baseline"])
    assert m["accuracy"] >= m["accuracy_classical"] - 0.005, (m["accuracy"], m["accuracy_classical"])
