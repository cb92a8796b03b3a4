"""Built-in presets (registered like any third-party plugin's): the 2-D toy settings of
the mode-collapse study, one per model and data set.

The values start from the toy settings of the README's results table (latent size 2,
Adam lr 1e-3 with betas (0.5, 0.9), gradient-penalty weight 0.1); tuning them to the
issue's targets is a separate effort. The basic ``gan`` gets the same settings as the
Wasserstein models, so the comparison differs by loss and penalty only.
"""

from ..hookspecs import hookimpl

_TOY = {"model.latent_dim": 2, "opt.lr_g": 1e-3, "opt.lr_d": 1e-3, "opt.betas": [0.5, 0.9]}
_STEPS = {"ring8": 3000, "grid25": 5000}
_MODELS = {
    "mlp-gan": ({"model.penalty_params.weight": 0.1}, "small MLP WGAN-GP"),
    "wgan-gp": ({"model.penalty_params.weight": 0.1}, "WGAN-GP (mlp2d nets)"),
    "wgan-div": ({}, "WGAN-div (mlp2d nets)"),
    "gan": ({}, "basic GAN, BCE (shows mode collapse)"),
}


@hookimpl
def genreg_register_presets(register):
    for model, (extra, what) in _MODELS.items():
        for data, steps in _STEPS.items():
            overrides = {"model": model, "data": data, **_TOY, **extra, "train.steps": steps}
            register(f"{model}-{data}", overrides, tags=("toy", "2d", data),
                     summary=f"{what} on {data}: latent 2, Adam 1e-3 betas (0.5, 0.9), {steps} steps")
