"""Training: one loop (:mod:`.loop`) for the trainers that fulfil :mod:`.trainer`'s contract.

The public entry point is the function ``genreg.train(MODEL, overrides=[...], out=...,
resume=..., device=..., quiet=..., callbacks=...)``, defined in ``genreg/__init__.py``
(it calls :func:`genreg.training.loop.train`). The package has its own name so that the
function and the package never share one attribute: ``import genreg.training.loop as loop``
and ``genreg.train(...)`` both work in any order. Importing the package itself is cheap:
torch is imported by its submodules only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrainResult"]


def __getattr__(name: str) -> Any:
    if name in ("TrainResult", "train"):
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'genreg.training' has no attribute {name!r}")
