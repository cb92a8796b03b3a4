"""Built-in datasets (registered like any third-party plugin's).

Factories are "module:attr" strings so that `genreg list` imports no torch. Tags say
what a sample looks like, which `genreg data preview` uses to pick a plot.
"""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_datasets(register):
    register("radio", "genreg.data.radio:radio", tags=("traces", "1d", "denoising", "simulated"),
             summary="simulated cosmic-ray radio traces (noisy, clean), 500 samples at 180 MHz")
    # rotation-invariant: a galaxy's class survives flips and turns (the eval classifier augments with them)
    register("galaxies", "genreg.data.galaxies:galaxies",
             tags=("images", "conditional", "simulated", "rotation-invariant"),
             summary="procedural RGB galaxies: barred spiral, elliptical, spiral (128x128)")
    register("ring8", "genreg.data.gaussians:ring8", tags=("points", "2d", "mode-collapse"),
             summary="8 Gaussian modes on a circle (radius 2, std 0.02)")
    register("grid25", "genreg.data.gaussians:grid25", tags=("points", "2d", "mode-collapse"),
             summary="25 Gaussian modes on a 5x5 grid (spacing 2, std 0.05)")
    register("npz", "genreg.data.files:load_npz", tags=("file",),
             summary="your arrays from a .npz file: npz:PATH (keys x/traces, target/signals, y/labels)")
    register("npy", "genreg.data.files:load_npy", tags=("file",),
             summary="your array from a .npy file: npy:PATH")
    register("images", "genreg.data.files:load_images", tags=("file", "images"),
             summary="your images: images:DIR, one sub-folder per class, resized via Pillow")
