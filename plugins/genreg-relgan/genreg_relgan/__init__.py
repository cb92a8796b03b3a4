"""genreg-relgan: relativistic GAN losses, the R1 penalty and a two-moons data set."""

__version__ = "0.1.0"
