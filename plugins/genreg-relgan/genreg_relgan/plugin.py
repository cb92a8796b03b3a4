"""The hooks genreg calls. Factories are "module:attribute" strings, so `genreg list`
never imports torch on this plugin's account."""

import genreg

# The hook API this plugin was written against; genreg reports a mismatch clearly.
GENREG_HOOK_API = 1


@genreg.hookimpl
def genreg_register_losses(register):
    register("rsgan", "genreg_relgan.losses:RelativisticLoss", tags=("adversarial", "relativistic"),
             summary="relativistic standard GAN loss: BCE(D(real) - D(fake))")
    register("ragan", "genreg_relgan.losses:RelativisticAverageLoss", tags=("adversarial", "relativistic"),
             summary="relativistic average GAN loss: BCE(D(real) - mean D(fake)) and BCE(D(fake) - mean D(real))")


@genreg.hookimpl
def genreg_register_penalties(register):
    register("r1", "genreg_relgan.penalties:R1Penalty", tags=("zero-centred",),
             summary="R1 regularisation gamma/2 * E[|grad D(real)|^2] (gamma=10)")


@genreg.hookimpl
def genreg_register_datasets(register):
    register("moons", "genreg_relgan.data:moons", tags=("2d", "labelled"),
             summary="two interleaved half circles in 2-D with Gaussian noise, labels 0/1")


@genreg.hookimpl
def genreg_register_models(register):
    register("ragan-mlp", "genreg_relgan.models:ragan_mlp", tags=("gan", "2d"),
             summary="MLP GAN trained with the relativistic average loss and R1 on two moons")
