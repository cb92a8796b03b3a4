"""Former home of the evaluation; it is the :mod:`genreg.eval` package now (one module per
model family). These names are kept so that code written against earlier genreg keeps working."""

from .eval import LoadedRun, eval_dataset, evaluate, generate, load_run, save_samples, to_jsonable  # noqa: F401
from .eval.gan import polarity as _polarity  # noqa: F401
