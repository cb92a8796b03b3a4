"""Denoiser evaluation (``dae1d`` and any single-``net`` reconstruction model on data with
clean targets).

Scores on the test split: the study's accuracy (recovered argmax within 2 % of the trace
length of the true one), its ``peak="abs"`` reading and the peak-height reading, all also
for two baselines: the do-nothing one (the noisy input used as the output: on genreg's
radio data it already scores high, so a denoiser is only as good as its margin over it)
and the classical one (:mod:`genreg.eval.classical`: 30-80 MHz band-pass plus notches on
narrow interference lines). Accuracy vs SNR, FFT spectra true vs recovered, three example
traces. Traces only get the peak metrics; data of other shapes get the MSEs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from .common import LoadedRun, batched, device_of, eval_dataset


def _accuracy_block(recovered, true, snr, edges) -> dict:
    from ..metrics.denoiser import accuracy_vs_snr, denoise_summary

    out = denoise_summary(recovered, true)
    out["accuracy_abs_peak"] = denoise_summary(recovered, true, peak="abs")["accuracy"]
    out["accuracy_height_10pct"] = denoise_summary(recovered, true, criterion="height")["accuracy"]
    curve = accuracy_vs_snr(recovered, true, snr, bins=edges)
    out["vs_snr"] = {"centres": curve["centres"], "accuracy": curve["accuracy"], "counts": curve["counts"]}
    return out


def _mse(a, b) -> float:
    return float(torch.mean((torch.as_tensor(a).float() - b) ** 2))


def evaluate(run: LoadedRun, out: Path, data_overrides=None, n=None, seed: int = 0) -> dict:
    from .. import plotting
    from ..metrics.denoiser import compare_spectra
    from .classical import bandpass_notch

    data = eval_dataset(run, data_overrides, n)
    if data.target is None:
        raise UsageError(f"data {data.name!r} has no clean targets: a denoiser is scored on (noisy, clean) pairs")
    net = run.model.net
    recovered = batched(net, data.x, device_of(net))
    noisy, true = data.x.float(), data.target.float()
    metrics: dict = {"kind": "denoiser", "data": dict(data.meta.get("params", {})) or dict(run.cfg.data),
                     "n_test": len(data), "mse": _mse(recovered, true), "mse_baseline": _mse(noisy, true)}
    out.mkdir(parents=True, exist_ok=True)
    files: dict = {}
    if noisy.dim() == 3 and noisy.shape[1] == 1 or noisy.dim() == 2:  # traces: the study's metrics
        rate = data.meta.get("sampling_rate_hz")
        sampling_mhz = float(rate) / 1e6 if rate else 180.0
        classical = torch.from_numpy(bandpass_notch(noisy, sampling_mhz=sampling_mhz))
        snr = data.meta.get("snr")
        snr = np.asarray(torch.zeros(len(data)) if snr is None else snr, dtype=np.float64).reshape(-1)
        lo, hi = float(snr.min()), float(snr.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 7)
        blocks = {name: _accuracy_block(traces, true, snr, edges)
                  for name, traces in (("denoised", recovered), ("baseline", noisy), ("classical", classical))}
        spectra = compare_spectra(recovered, true, sampling_mhz)
        metrics.update({
            "mse_classical": _mse(classical, true),
            "accuracy": blocks["denoised"]["accuracy"], "accuracy_baseline": blocks["baseline"]["accuracy"],
            "accuracy_classical": blocks["classical"]["accuracy"],
            **blocks,
            "classical_filter": {"band_mhz": [30.0, 80.0], "order": 4, "notch_lines_max": 3, "notch_q": 30.0,
                                 "sampling_mhz": sampling_mhz},
            "spectrum_relative_l2": spectra["relative_l2"],
            "spectrum_relative_l2_baseline": compare_spectra(noisy, true, sampling_mhz)["relative_l2"],
            "spectrum_relative_l2_classical": compare_spectra(classical, true, sampling_mhz)["relative_l2"],
        })
        vs = {name: (b["vs_snr"]["centres"], b["vs_snr"]["accuracy"]) for name, b in blocks.items()}
        files["accuracy_vs_snr"] = plotting.plot_accuracy_vs_snr(
            *vs["denoised"], out / "accuracy_vs_snr.png", label=run.cfg.model_name,
            others={"baseline (noisy input)": vs["baseline"], "classical (band-pass + notch)": vs["classical"]})
        files["spectra"] = plotting.plot_spectra(
            spectra["freq_mhz"], spectra["true"], spectra["recovered"], out / "spectra.png",
            others={"classical": compare_spectra(classical, true, sampling_mhz)["recovered"]})
        has_signal = np.flatnonzero(np.asarray(data.meta.get("has_signal", torch.ones(len(data), dtype=torch.bool))))
        pick = torch.from_numpy(has_signal[:3] if len(has_signal) >= 3 else np.arange(min(3, len(data))))
        files["examples"] = plotting.plot_trace_triptych(noisy[pick], true[pick], recovered[pick],
                                                         out / "examples.png", sampling_mhz=sampling_mhz)
    else:
        files["examples"] = plotting.save_samples(recovered[:8], out / "examples.png", real=noisy[:8], pairs=True,
                                                  meta=data.meta, title="noisy input and output")
    metrics["figures"] = files
    metrics["_inputs"] = {"recovered": recovered, "true": true, "noisy": noisy, "data": data}
    return metrics
