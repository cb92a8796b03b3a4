"""Training: one loop (:mod:`.loop`) for the trainers that fulfil :mod:`.trainer`'s contract.

The public entry point is the function ``genreg.train(MODEL, overrides=[...], out=...,
resume=..., device=..., quiet=..., callbacks=...)``, defined in ``genreg/__init__.py``
(it calls :func:`genreg.train.loop.train`). This package is imported by ``genreg``
before that function is bound, so importing its submodules later
(``import genreg.train.loop``) never rebinds ``genreg.train``. Import submodules with
``from genreg.train import loop`` or ``from genreg.train.loop import ...``: the form
``import genreg.train.loop as loop`` looks the name up through the attribute and finds the
function. Importing the package itself is cheap: torch is imported by its submodules only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrainResult"]


def __getattr__(name: str) -> Any:
    if name in ("TrainResult", "train"):
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'genreg.train' has no attribute {name!r}")
