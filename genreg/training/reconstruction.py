"""ReconstructionTrainer: autoencoders, denoisers and VAEs on (input, target) pairs.

Each step takes one batch; the target is the batch's ``target`` when the data set has one
(a denoiser trains on (noisy, clean)), else the input itself. Objectives (``model.objective``):

``mse``     mean squared error over all elements
``mse+kl``  mse + kl_weight * mean over the batch of KL(N(mu, exp(logvar)) || N(0, I)) summed
            over latent dimensions; z = mu + exp(logvar / 2) * eps during training

The learning rate follows ``opt.lr_schedule`` (constant, or cosine decay over ``train.steps``:
:mod:`.schedule`), set before each step's update.

A model's own loss terms: when the model's single ``net`` defines
``loss_terms(x, target) -> dict[str, Tensor]`` (e.g. a masked autoencoder, whose loss is
over masked patches only), the trainer calls it instead of the objective above, through
the (DDP-wrapped) pipeline's forward so DDP sees exactly one forward per step, optimises
the sum of the returned 0-d terms and logs each under its name. ``net(x)`` still returns
a reconstruction of ``x``'s shape, used for sample figures.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import UsageError
from ..models.base import ReconstructionModel, describe_shape
from . import checkpoint as ckpt
from .distributed import wrap
from .samples import save_figure
from .schedule import scheduled_lr
from .trainer import StepOutput, Update, stack_values
from .update import Updater, adam


class _Pipeline(nn.Module):
    """Encoder + decoder (or one net) as one module, so DDP sees one forward per step."""

    def __init__(self, model: ReconstructionModel) -> None:
        super().__init__()
        self.net, self.encoder, self.decoder = model.net, model.encoder, model.decoder
        self.variational = model.variational

        self.own_terms = self.net is not None and callable(getattr(self.net, "loss_terms", None))

    def forward(self, x: Tensor, sample: bool = True, target: Tensor | None = None):
        if self.own_terms and target is not None:
            return self.net.loss_terms(x, target)
        if self.net is not None:
            return self.net(x), None, None
        h = self.encoder(x)
        if not self.variational:
            return self.decoder(h), None, None
        mu, logvar = h
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        return self.decoder(z), mu, logvar


# metrics.jsonl keys the loop writes itself: a model's loss term may not take them
RESERVED_TERM_NAMES = frozenset({"step", "epoch", "skipped", "samples_per_s", "time_s", "lr"})


def _checked_terms(terms, model_name: str) -> dict[str, Tensor]:
    """A model's ``loss_terms`` result, checked: a non-empty dict of 0-d floating tensors."""
    where = f"model {model_name!r}: net.loss_terms(x, target)"
    if not isinstance(terms, dict) or not terms:
        raise UsageError(f"{where} must return a non-empty dict of name -> scalar tensor, got {type(terms).__name__}")
    for name, value in terms.items():
        if not isinstance(name, str) or not name.isidentifier() or name in RESERVED_TERM_NAMES:
            raise UsageError(f"{where} returned the term name {name!r}: use an identifier other than "
                             f"{', '.join(sorted(RESERVED_TERM_NAMES))}")
        if not isinstance(value, Tensor) or value.numel() != 1 or not value.is_floating_point():
            what = f"shape {tuple(value.shape)} {value.dtype}" if isinstance(value, Tensor) else type(value).__name__
            raise UsageError(f"{where} term {name!r} must be a scalar floating tensor, got {what}")
    return {name: value.reshape(()) for name, value in terms.items()}


class ReconstructionTrainer:
    """See the module docstring and :class:`genreg.training.trainer.Trainer`.

    ``pipeline`` is the raw network (encoder + decoder or net), ``pipeline_ddp`` the same
    DDP-wrapped under torchrun (the raw one otherwise).
    """

    def __init__(self, *, model: ReconstructionModel, cfg, device: torch.device, dist, update: Updater) -> None:
        self.model, self.cfg, self.device, self.dist, self.update = model, cfg, device, dist, update
        self.pipeline = _Pipeline(model).to(device)
        self.pipeline_ddp = wrap(self.pipeline, dist, device)
        opt = cfg.opt
        self.params = list(self.pipeline.parameters())
        self.optimizer = adam(self.params, lr=opt.lr, betas=opt.betas, weight_decay=opt.weight_decay,
                              device=device, capturable=update.capturable, impl=opt.adam_impl)
        self.kl_weight = model.config.kl_weight
        if opt.lr_schedule != "constant" and cfg.train.cuda_graph:
            # a replayed graph keeps the learning rate it was captured with
            raise UsageError(f"opt.lr_schedule={opt.lr_schedule} cannot run inside a CUDA graph "
                             "(set train.cuda_graph=false, or opt.lr_schedule=constant)")

    def check_data(self, dataset) -> None:
        name = self.model.name or self.cfg.model_name
        want_in, want_out = self.model.input_shape, self.model.output_shape
        if want_in and tuple(dataset.sample_shape) != want_in:
            raise UsageError(f"data {dataset.name!r} has samples of shape {describe_shape(dataset.sample_shape)} "
                             f"but model {name!r} takes input of shape {describe_shape(want_in)}")
        target_shape = tuple(dataset.target.shape[1:]) if dataset.target is not None else tuple(dataset.sample_shape)
        if want_out and target_shape != want_out:
            raise UsageError(f"data {dataset.name!r} has targets of shape {describe_shape(target_shape)} "
                             f"but model {name!r} outputs shape {describe_shape(want_out)}")
        dtype = self.params[0].dtype
        for what, t in (("x", dataset.x), ("target", dataset.target)):
            if t is not None and t.dtype != dtype:
                raise UsageError(f"data {dataset.name!r} {what} is {t.dtype} but model {name!r} has {dtype} parameters")

    def step(self, step: int, next_batch) -> StepOutput:
        opt = self.cfg.opt
        if opt.lr_schedule != "constant":
            lr = scheduled_lr(opt.lr_schedule, opt.lr, step, self.cfg.train.steps, opt.lr_final)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        batch = next_batch()
        x = batch["x"]
        target = batch.get("target", x)
        with self.update.autocast():
            if self.pipeline.own_terms:
                terms = _checked_terms(self.pipeline_ddp(x, target=target), self.cfg.model_name)
            else:
                terms = self._objective(x, target)
        self.update("reconstruction", terms, self.optimizer, self.params)
        with torch.no_grad():
            values = stack_values(list(terms.values()))
        names = tuple(terms)
        return StepOutput(names, values, (Update("reconstruction", 0, names, values),))

    def _objective(self, x: Tensor, target: Tensor) -> dict[str, Tensor]:
        recon, mu, logvar = self.pipeline_ddp(x)
        if recon.shape != target.shape:
            raise UsageError(f"model {self.cfg.model_name!r} returned reconstructions of shape "
                             f"{describe_shape(recon.shape[1:])} for targets of shape {describe_shape(target.shape[1:])}")
        terms = {"mse": F.mse_loss(recon, target)}
        if mu is not None:
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1).mean()
            terms["kl"] = self.kl_weight * kl
        return terms

    def batches_per_step(self) -> int:
        return 1

    def samples_per_step(self) -> int:
        return self.cfg.train.batch_size

    def learning_rates(self) -> dict[str, float]:
        return {"lr": self.optimizer.param_groups[0]["lr"]}

    @torch.no_grad()
    def save_samples(self, path: Path, step: int, dataset) -> Path:
        n = min(self.cfg.train.num_samples, len(dataset))
        x = dataset.x[:n].to(self.device)
        was_training = self.pipeline.training
        self.pipeline.eval()
        try:
            recon = self.pipeline(x, sample=False)[0]  # the mean code: no noise drawn
        finally:
            self.pipeline.train(was_training)
        return save_figure(path, recon, x, title=f"{self.cfg.model_name} step {step}: input (grey) and output",
                           pairs=True)

    def state(self) -> tuple[dict[str, Tensor], dict]:
        tensors = ckpt.module_tensors("model", self.pipeline)
        t_o, m_o = ckpt.optimizer_state("opt", self.optimizer)
        tensors.update(t_o)
        return tensors, {"opt": m_o}

    def load_state(self, tensors: dict[str, Tensor], meta: dict, where: str) -> None:
        ckpt.load_module("model", self.pipeline, tensors, where)
        ckpt.load_optimizer("opt", self.optimizer, tensors, meta.get("opt", {}), where)
        for group in self.optimizer.param_groups:
            group.update(lr=self.cfg.opt.lr, betas=tuple(self.cfg.opt.betas), weight_decay=self.cfg.opt.weight_decay)

    def modules(self) -> dict[str, torch.nn.Module]:
        return dict(self.model.modules())
