"""Pictures of a data set for `genreg data preview`, drawn by :mod:`genreg.plotting`.

The kind of plot follows the shape of a sample: (C, L) -> traces with their spectra,
(C, H, W) -> an image grid (one row per class when labelled), (D,) -> a scatter of the
first two coordinates with the mode centres when ``meta["centers"]`` exists.
"""

from __future__ import annotations

import os

from ..errors import UsageError


def plot_kind(dataset) -> str:
    from ..plotting import sample_kind

    try:
        return sample_kind(dataset.sample_shape)
    except UsageError:
        raise UsageError(f"{dataset.name}: cannot preview samples of shape {dataset.sample_shape}") from None


def save_preview(dataset, out: str, *, title: str = "", count: int | None = None) -> str:
    """Write a PNG picture of ``dataset`` to ``out`` and return the plot kind."""
    from .. import plotting

    kind = plot_kind(dataset)
    if len(dataset) == 0:
        raise UsageError(f"{dataset.name}: the data set is empty; nothing to preview")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {out}: folder {folder} does not exist")
    title = title or repr(dataset)
    meta = dataset.meta
    if kind == "traces":
        n = min(count or 4, len(dataset))
        plotting.plot_trace_preview(dataset.x[:n], out, clean=None if dataset.target is None else dataset.target[:n],
                                    snr=meta.get("snr"), sampling_rate_hz=meta.get("sampling_rate_hz"), title=title)
    elif kind == "images":
        per_row = count or 6
        value_range = meta.get("value_range", (float(dataset.x.min()), float(dataset.x.max())))
        if dataset.y is not None:
            images, names = plotting.class_rows(dataset.x, dataset.y, dataset.class_names, per_row=per_row)
            plotting.image_grid(images, out, nrow=len(images) // len(names), row_labels=names,
                                value_range=value_range, title=title)
        else:
            plotting.image_grid(dataset.x[:3 * per_row], out, nrow=per_row, value_range=value_range, title=title)
    else:
        plotting.plot_points_2d(dataset.x, out, centres=meta.get("centers"), std=meta.get("std"), title=title,
                                label="samples")
    return kind
