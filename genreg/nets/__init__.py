"""Network architectures of the reference study, as ``genreg.interfaces`` subclasses.

One module per family; import them directly (``from genreg.nets.dcgan import DCGANGenerator``):
  dae1d    1-D conv denoising autoencoder for 500-sample radio traces
  vae      fully connected image VAE (flatten -> 500 -> 50-d latent)
  dcgan    DCGAN-style image generator / critic for 64x64 and 128x128, optional classes
  trace1d  1-D generator / critic for 500-sample traces, optional classes
  mlp2d    MLP generator / critic for the 2-D Gaussian mixtures

Model entries (genreg.models) combine these with losses, penalties and defaults.
"""
