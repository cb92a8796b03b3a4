"""Built-in models (registered like any third-party plugin's)."""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_models(register):
    # Models of the reference study register here as they land (see the README's model table).
    register("mlp-gan", "genreg.models.mlp:mlp_gan", tags=("gan", "2d", "small"),
             summary="small MLP generator + critic for 2-D points (WGAN-GP by default; num_classes>0: acGAN)")
    register("mlp-ae", "genreg.models.mlp:mlp_ae", tags=("autoencoder", "small"),
             summary="small MLP autoencoder on flat vectors (objective=mse+kl makes it a VAE)")
