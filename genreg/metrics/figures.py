"""Former home of the evaluation figures; they live in :mod:`genreg.plotting` now (one
plotting module for training samples, previews, evaluation and curves). These names are
kept so that code written against earlier genreg keeps working."""

from ..plotting import pyplot as _pyplot  # noqa: F401
from ..plotting import save as _save  # noqa: F401
from ..plotting.images import image_grid, plot_interpolation, plot_reconstructions  # noqa: F401
from ..plotting.points import plot_points_2d  # noqa: F401
from ..plotting.traces import plot_accuracy_vs_snr, plot_spectra, plot_trace_triptych  # noqa: F401
