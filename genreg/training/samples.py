"""Sample figures written during training (``samples/step-N.png``), drawn by
:func:`genreg.plotting.save_samples` like every other genreg figure: a scatter for
``(2,)`` points, an image grid for ``(C, H, W)``, stacked traces otherwise.

Reconstruction runs show inputs and their reconstructions side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from torch import Tensor


def save_figure(path: Path, fake: Tensor, real: Optional[Tensor] = None, *, title: str = "",
                pairs: bool = False) -> Path:
    """Write ``fake`` samples (and ``real`` ones for reference) to ``path``.

    ``pairs=True``: ``real[i]`` is the input of ``fake[i]`` (reconstructions).
    """
    from ..plotting import save_samples

    fake = fake.detach().float().cpu()
    real = real.detach().float().cpu() if real is not None else None
    save_samples(fake, path, real=real, pairs=pairs, title=title)
    return Path(path)
