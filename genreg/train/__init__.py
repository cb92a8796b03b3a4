"""Training: one loop (loop.py) for the adversarial and reconstruction trainers.

``genreg.train(MODEL, overrides=[...], out=..., resume=..., device=..., quiet=..., callbacks=...)``
is :func:`genreg.train.loop.train`. ``genreg.train`` is this package, made callable: once
a submodule such as ``genreg.train.loop`` is imported, Python binds the package to the
attribute ``genreg.train``, so a plain function of that name could not survive.
"""

from __future__ import annotations

import sys
import types

from .loop import TrainResult, train

__all__ = ["train", "TrainResult"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs) -> TrainResult:
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
