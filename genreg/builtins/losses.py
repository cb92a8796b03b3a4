"""Built-in adversarial losses and critic penalties."""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_losses(register):
    register("bce", "genreg.losses.adversarial:BCELoss", tags=("adversarial",),
             summary="GAN cross-entropy on logits; non_saturating=True|False (minimax), real_label smoothing")
    register("wasserstein", "genreg.losses.adversarial:WassersteinLoss", tags=("adversarial",),
             summary="WGAN critic/generator loss: E[D(fake)] - E[D(real)]")
    register("hinge", "genreg.losses.adversarial:HingeLoss", tags=("adversarial",),
             summary="hinge loss: E[relu(1 - D(real))] + E[relu(1 + D(fake))]")
    register("least-squares", "genreg.losses.adversarial:LeastSquaresLoss", tags=("adversarial",),
             summary="LSGAN loss with targets 0 (fake) and 1 (real)")


@hookimpl
def genreg_register_penalties(register):
    register("none", "genreg.losses.penalties:NoPenalty", summary="no critic penalty")
    register("gp", "genreg.losses.penalties:GradientPenalty", tags=("wgan-gp",),
             summary="gradient penalty weight*E[(|grad D(x_hat)| - 1)^2] at interpolates (weight=10)")
    register("div", "genreg.losses.penalties:DivergencePenalty", tags=("wgan-div",),
             summary="Wasserstein divergence (k/2)*E[|grad D(real)|^p + |grad D(fake)|^p] (k=2, p=6)")
