"""Built-in metrics (registered like any third-party plugin's).

A metric entry's factory is the metric function itself: ``get_entry("metric", name).load()``
returns it and ``create(**inputs)`` computes it.
"""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_metrics(register):
    register("denoise-accuracy", "genreg.metrics.denoiser:denoise_accuracy", tags=("denoiser", "1d"),
             summary="share of signal traces whose recovered peak lies within 2 % of the length of the true one")
    register("denoise-summary", "genreg.metrics.denoiser:denoise_summary", tags=("denoiser", "1d"),
             summary="denoise accuracy with its counts (hits, signal and noise-only traces, window)")
    register("accuracy-vs-snr", "genreg.metrics.denoiser:accuracy_vs_snr", tags=("denoiser", "1d"),
             summary="denoise accuracy in SNR bins (edges, centres, accuracy, counts)")
    register("spectrum", "genreg.metrics.denoiser:compare_spectra", tags=("denoiser", "1d"),
             summary="mean FFT magnitude spectra of true vs recovered traces (MHz axis) and their relative L2 gap")
    register("mode-coverage", "genreg.metrics.coverage:mode_coverage", tags=("gan", "2d"),
             summary="modes covered and share of samples within 3 std of a mode (ring8, grid25)")
    register("frechet-distance", "genreg.metrics.frechet:frechet_distance", tags=("gan",),
             summary="Frechet distance between two feature sets (mean + covariance)")
    register("image-frechet-distance", "genreg.metrics.frechet:image_frechet_distance", tags=("gan", "image"),
             summary="Frechet distance of real vs generated images in a small network trained on genreg's data")
    register("class-fidelity", "genreg.metrics.frechet:class_fidelity", tags=("gan", "conditional"),
             summary="share of generated samples a classifier assigns to the class they were generated for")
