"""The training data's normalisation, so that a loaded model takes and returns the user's units.

A model learns on data in some units; users have theirs. :class:`DataUnits` maps a batch
into the model's units and the model's output back:

``raw``                the data were used as they are (2-D mixtures, ``npz``/``npy`` arrays,
                       ``radio normalize=false``): nothing is mapped.
``per_sample_minmax``  each sample was mapped to [0, 1] by its own affine map
                       ``v -> (v - lo) / (hi - lo)`` (``radio``, ``normalize=true``, the default;
                       see :mod:`genreg.data.radio`). An input batch is mapped the same way, from
                       each sample's own minimum and maximum, and the output goes back through the
                       inverse map: a trace in mV comes back in mV, scaled input gives output
                       scaled the same. (In training ``lo``/``hi`` also covered the clean target;
                       a user's trace has none, so its own range is used.)
``value_range``        images in a fixed pixel range (``value_range`` of ``galaxies`` and
                       ``images``, (0, 1) by default). An input in another range (8-bit pixels:
                       (0, 255)) is mapped linearly into the model's range and the output back.

:func:`units_of` reads the kind from a run's stored ``[data]`` section (the data set's
name and parameters, with the factory's defaults for the ones not given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import Tensor

from ..errors import UsageError

KINDS = ("raw", "per_sample_minmax", "value_range")

# data sets that normalise each sample to [0, 1]: name -> the boolean parameter switching it on
PER_SAMPLE_MINMAX = {"radio": "normalize"}


@dataclass(frozen=True)
class DataUnits:
    """How the model's training data were normalised (see the module docstring).

    ``kind``         one of :data:`KINDS`
    ``value_range``  the model's pixel range ``(low, high)`` for ``kind="value_range"``
    """

    kind: str = "raw"
    value_range: Optional[tuple[float, float]] = None

    def describe(self) -> str:
        if self.kind == "per_sample_minmax":
            return "each sample mapped to [0, 1] by its own min/max (outputs mapped back)"
        if self.kind == "value_range":
            lo, hi = self.value_range
            return f"pixel range [{lo:g}, {hi:g}]"
        return "raw (no normalisation)"

    def _check_range(self, input_range) -> Optional[tuple[float, float]]:
        if input_range is None:
            return None
        try:
            lo, hi = (float(v) for v in input_range)
        except (TypeError, ValueError):
            raise UsageError(f"an input value range is a pair low,high; got {input_range!r}") from None
        if not lo < hi:
            raise UsageError(f"an input value range needs low < high, got ({lo:g}, {hi:g})")
        return lo, hi

    def to_model(self, x: Tensor, input_range=None) -> tuple[Tensor, Any]:
        """``x`` (B, ...) float in the input's units -> (the batch in model units, the map to undo it).

        ``input_range``: for ``value_range`` models, the input's pixel range (default: the
        model's own); ignored by the other kinds.
        """
        if self.kind == "per_sample_minmax":
            dims = tuple(range(1, x.dim()))
            lo = x.amin(dim=dims, keepdim=True)
            scale = (x.amax(dim=dims, keepdim=True) - lo).clamp_min(torch.finfo(x.dtype).tiny)
            return ((x - lo) / scale).clamp(0.0, 1.0), (lo, scale)
        if self.kind == "value_range":
            given = self._check_range(input_range)
            if given is None or given == tuple(self.value_range):
                return x, None
            (a, b), (c, d) = given, self.value_range
            factor = (d - c) / (b - a)
            return (x - a) * factor + c, (a, c, factor)
        return x, None

    def from_model(self, y: Tensor, state: Any) -> Tensor:
        """The model's output ``y`` mapped back to the input's units (``state`` from :meth:`to_model`)."""
        if state is None:
            return y
        if self.kind == "per_sample_minmax":
            lo, scale = state
            return y * scale + lo
        a, c, factor = state
        return (y - c) / factor + a


def units_of(data_spec: dict) -> DataUnits:
    """The :class:`DataUnits` of a run's ``[data]`` section (``{"name": ..., params...}``)."""
    from .. import get_entry
    from ..data import dataset_parameters, split_spec

    name, _ = split_spec(str(data_spec.get("name", "")))
    try:
        factory = get_entry("dataset", name).load()
    except Exception:  # a plugin data set that is gone: its data are taken as raw
        return DataUnits()
    params = dataset_parameters(factory)
    switch = PER_SAMPLE_MINMAX.get(name)
    if switch in params:
        on = data_spec.get(switch, params[switch].default)
        if isinstance(on, str):  # a value typed on the command line
            on = on.strip().lower() in ("1", "true", "yes", "on")
        if on:
            return DataUnits("per_sample_minmax")
    if "value_range" in params:
        given = data_spec.get("value_range", params["value_range"].default)
        if isinstance(given, str):
            given = given.replace("(", "").replace(")", "").split(",")
        lo, hi = (float(v) for v in given)
        return DataUnits("value_range", (lo, hi))
    return DataUnits()
