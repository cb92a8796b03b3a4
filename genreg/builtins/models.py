"""Built-in models (registered like any third-party plugin's)."""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_models(register):
    # the models of the reference study (see the README's model table)
    register("dae1d", "genreg.models.dae1d:dae1d", tags=("autoencoder", "denoiser", "1d", "study"),
             summary="1-D conv denoising autoencoder for 500-sample radio traces (MSE noisy->clean, Adam 1e-3)")
    register("vae", "genreg.models.vae:vae", tags=("autoencoder", "vae", "images", "study"),
             summary="fully connected image VAE, 128x128x3 -> 500 -> 50-d latent, MSE + weighted KL")
    register("gan", "genreg.models.gan:gan", tags=("gan", "images", "1d", "2d", "study"),
             summary="DCGAN with the BCE loss (non-saturating), 1 critic step, BatchNorm; shows mode collapse")
    register("acgan", "genreg.models.acgan:acgan", tags=("gan", "conditional", "images", "study"),
             summary="auxiliary-classifier GAN, 3 galaxy classes, BCE + class loss, optional real-label smoothing")
    register("wgan-gp", "genreg.models.wgan:wgan_gp", tags=("gan", "wasserstein", "images", "1d", "2d", "study"),
             summary="WGAN-GP: Wasserstein loss + gradient penalty 10, 5 critic steps, LayerNorm critic")
    register("wgan-div", "genreg.models.wgan:wgan_div", tags=("gan", "wasserstein", "images", "1d", "2d", "study"),
             summary="WGAN-div: Wasserstein loss + divergence penalty k=2, p=6 (real and fake), lr 2e-4")
    # the study's "next step": masked autoencoders (He et al. 2021)
    register("mae1d", "genreg.models.mae1d:mae1d", tags=("autoencoder", "mae", "1d"),
             summary="masked autoencoder for traces: 50 patches of 10 samples, 75 % hidden, transformer encoder")
    register("mae", "genreg.models.mae:mae", tags=("autoencoder", "mae", "images"),
             summary="masked autoencoder for images: 8x8 square patches, 75 % hidden, transformer encoder")
    register("mlp-gan", "genreg.models.mlp:mlp_gan", tags=("gan", "2d", "small"),
             summary="small MLP generator + critic for 2-D points (WGAN-GP by default; num_classes>0: acGAN)")
    register("mlp-ae", "genreg.models.mlp:mlp_ae", tags=("autoencoder", "small"),
             summary="small MLP autoencoder on flat vectors (objective=mse+kl makes it a VAE)")
