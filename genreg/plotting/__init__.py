"""genreg's one plotting home: every PNG the library writes is drawn here.

Training sample figures (``genreg.training.samples``), data previews (``genreg data preview``),
evaluation figures (``genreg eval``, ``genreg sample``) and loss curves all call into this
package, so a sample of a given shape looks the same wherever it is shown:

``(D,)``                 points: scatter of the first two coordinates (:mod:`.points`)
``(C, L)``               traces: stacked at offsets, spectra, triptychs (:mod:`.traces`)
``(C, H, W)``, C 1 or 3  images: one tiled grid, optionally one labelled row per class (:mod:`.images`)

matplotlib is imported on first use with the non-interactive Agg backend, so importing
this package is cheap and works without a display. Every helper writes one PNG to
``path`` (creating its folder) and returns the path as a string; bad input raises
:class:`genreg.errors.UsageError`.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from ..errors import UsageError

__all__ = ["pyplot", "save", "sample_kind", "save_samples", "image_grid", "class_rows", "plot_reconstructions",
           "plot_interpolation", "plot_points_2d", "plot_traces", "plot_trace_triptych", "plot_trace_preview",
           "plot_spectra", "plot_accuracy_vs_snr", "plot_curves", "plot_loss_curves"]


def pyplot():
    """matplotlib.pyplot with the Agg backend (files only, never a window)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig, path, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` as PNG (creating the folder), close it, return the path."""
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    plt = pyplot()
    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path


def sample_kind(shape: Sequence[int]) -> str:
    """``"points"``, ``"traces"`` or ``"images"`` for the shape of one sample."""
    shape = tuple(shape)
    if len(shape) == 1:
        return "points"
    if len(shape) == 2:
        return "traces"
    if len(shape) == 3:
        return "images"
    raise UsageError(f"cannot plot samples of shape {shape}: expected (D,), (C, L) or (C, H, W)")


def save_samples(samples, path, *, real=None, pairs: bool = False, labels=None, class_names: Sequence[str] = (),
                 meta: Optional[dict] = None, title: str = "") -> str:
    """One PNG of samples ``(N, *shape)``, drawn by sample shape (see the package docstring).

    ``real``: real samples for reference (points: drawn under the generated ones);
    ``pairs=True``: ``real[i]`` is the input of ``samples[i]`` (reconstructions, denoised
    traces) and they are shown side by side / overlaid. ``labels`` (N,) of a
    class-conditional model: one image row per class, named by ``class_names``. ``meta``
    (a data set's): ``value_range`` of images, ``centers`` / ``std`` of point modes.
    """
    from . import images, points, traces

    meta = meta or {}
    kind = sample_kind(samples.shape[1:])
    if kind == "images" and samples.shape[1] not in (1, 3):
        kind = "traces"  # (C, H, W) with other channel counts: show rows as traces
    if kind == "points":
        return points.plot_points_2d(samples, path, centres=meta.get("centers"), std=meta.get("std"),
                                     real=real, title=title)
    if kind == "images":
        value_range = meta.get("value_range")
        if value_range is None:
            ref = real if real is not None else samples
            value_range = (float(ref.min()), float(ref.max()))
        if pairs and real is not None:
            return images.plot_reconstructions(real[:32], samples[:32], path, value_range=tuple(value_range))
        if labels is not None and len(labels):
            grid, names = images.class_rows(samples, labels, class_names)
            return images.image_grid(grid, path, nrow=len(grid) // len(names), row_labels=names,
                                     value_range=tuple(value_range), title=title)
        return images.image_grid(samples[:64], path, nrow=8, value_range=tuple(value_range), title=title)
    return traces.plot_traces(samples, path, inputs=real if pairs else None, title=title)


def __getattr__(name: str):
    # the helpers live in submodules; importing them here lazily keeps this package light
    import importlib

    if name in __all__:
        for module in ("images", "points", "traces", "curves"):
            mod = importlib.import_module(f"{__name__}.{module}")
            if hasattr(mod, name):
                return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
