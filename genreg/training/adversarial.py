"""AdversarialTrainer: any registered generator + critic, loss and penalty.

One training step = ``n_critic`` critic updates, each on a fresh real batch::

    L_D = loss.critic(D(real), D(G(z))) + penalty(D, real, G(z), y) [+ aux_weight * (CE(real) + aux_fake * CE(fake))]

then one generator update ``L_G = loss.generator(D(G(z)))`` [+ aux_weight_g * CE(fake)]
[+ mode_seeking * L_ms] (``aux_weight_g`` defaults to ``aux_weight``; ``L_ms`` is MSGAN's
mode-seeking term, :mod:`genreg.losses.mode_seeking`, on a batch whose halves are drawn for the
same classes).
So WGAN-GP and WGAN-div differ only by the penalty entry. Class-conditional models
(``generator.num_classes > 0``): the critic returns ``(score, class_logits)``; in critic
steps the fakes are drawn for the real batch's labels, in generator steps for labels drawn
uniformly; both networks get the labels as ``y``. Separate Adam optimisers (``opt.lr_g``,
``opt.lr_d``); ``model.ema_decay > 0`` keeps an EMA copy of the generator used for samples,
with normalisation statistics recomputed for its own weights (:mod:`genreg.training.ema`).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UsageError
from ..losses.mode_seeking import mode_seeking_term, paired_labels
from ..models.base import AdversarialModel, describe_shape
from . import checkpoint as ckpt
from .distributed import wrap
from .ema import STANDING, STATS_KEY, GeneratorEMA
from .samples import save_figure
from .trainer import StepOutput, Update, stack_values
from .update import Updater, adam


def _create(kind: str, name: str, params: dict, key: str):
    from .. import get_registry

    try:
        return get_registry().create(kind, name, **params)
    except TypeError as exc:
        raise UsageError(f"{key}: {kind} {name!r} rejected its parameters: {' '.join(str(exc).split())}") from None


class AdversarialTrainer:
    """See the module docstring and :class:`genreg.training.trainer.Trainer`.

    ``generator``/``critic`` are the raw networks, ``generator_ddp``/``critic_ddp`` the
    same networks DDP-wrapped under torchrun (the raw ones otherwise).
    """

    def __init__(self, *, model: AdversarialModel, cfg, device: torch.device, dist, update: Updater) -> None:
        mc, opt = model.config, cfg.opt
        self.model, self.cfg, self.device, self.dist, self.update = model, cfg, device, dist, update
        self.generator = model.generator.to(device)
        self.critic = model.critic.to(device)
        self.loss = _create("loss", mc.loss, mc.loss_params, "model.loss_params")
        self.penalty = _create("penalty", mc.penalty, mc.penalty_params, "model.penalty_params")
        self.n_critic, self.aux_weight = mc.n_critic, mc.aux_weight
        self.aux_fake = float(getattr(mc, "aux_fake", 1.0))  # weight of the critic's class loss on fakes
        aux_g = getattr(mc, "aux_weight_g", None)  # the generator's class-loss weight (None: aux_weight)
        self.aux_weight_g = self.aux_weight if aux_g is None else float(aux_g)
        self.num_classes = model.num_classes
        self.mode_seeking = float(getattr(mc, "mode_seeking", 0.0))
        self.generator_ddp = wrap(self.generator, dist, device)
        self.critic_ddp = wrap(self.critic, dist, device)
        common = dict(betas=opt.betas, weight_decay=opt.weight_decay, device=device, capturable=update.capturable,
                      impl=opt.adam_impl)
        self.opt_g = adam(self.generator.parameters(), lr=opt.lr_g, **common)
        self.opt_d = adam(self.critic.parameters(), lr=opt.lr_d, **common)
        self.params_g = list(self.generator.parameters())
        self.params_d = list(self.critic.parameters())
        self.ema_decay = mc.ema_decay
        self.ema_state = (GeneratorEMA(self.generator, self.ema_decay, batch_size=cfg.train.batch_size,
                                       train_seed=cfg.train.seed) if self.ema_decay > 0 else None)
        self.ema = self.ema_state.module if self.ema_state is not None else None
        # Fixed latents for sample figures, from their own generator: drawing them must
        # not move the training RNG, or resumed runs would diverge.
        gen = torch.Generator().manual_seed(cfg.train.seed + 1_000_003)
        n = cfg.train.num_samples
        self.fixed_z = torch.randn(n, self.generator.latent_dim, generator=gen).to(device)
        self.fixed_y = (torch.arange(n) % self.num_classes).to(device) if self.num_classes else None

    # -- checks ------------------------------------------------------------------

    def check_data(self, dataset) -> None:
        name = self.model.name or self.cfg.model_name
        want = tuple(self.generator.output_shape)
        for role, shape in (("generator output", want), ("critic input", tuple(self.critic.input_shape))):
            if shape and tuple(dataset.sample_shape) != shape:
                raise UsageError(f"data {dataset.name!r} has samples of shape {describe_shape(dataset.sample_shape)} "
                                 f"but model {name!r} has {role} shape {describe_shape(shape)}")
        dtype = next(self.generator.parameters()).dtype
        if dataset.x.dtype != dtype:
            raise UsageError(f"data {dataset.name!r} is {dataset.x.dtype} but model {name!r} has {dtype} parameters")
        if self.num_classes:
            if dataset.y is None:
                raise UsageError(f"model {name!r} is class-conditional ({self.num_classes} classes) "
                                 f"but data {dataset.name!r} has no labels")
            if dataset.num_classes > self.num_classes:
                raise UsageError(f"data {dataset.name!r} has {dataset.num_classes} classes, "
                                 f"model {name!r} has {self.num_classes} (set model.num_classes)")

    # -- training ----------------------------------------------------------------

    @staticmethod
    def _split(out):
        if isinstance(out, tuple):
            return out[0], out[1]
        return out, None

    def step(self, step: int, next_batch) -> StepOutput:
        updates = []
        sums = None
        for index in range(self.n_critic):
            batch = next_batch()
            real = batch["x"]
            y = batch.get("y") if self.num_classes else None
            with self.update.autocast():
                with torch.no_grad():
                    fake = self.generator(self.generator.sample_latent(real.shape[0], device=self.device), y)
                if fake.dtype != real.dtype:  # autocast: the penalty mixes real and fake samples
                    fake = fake.to(real.dtype)
                real_score, real_logits = self._split(self.critic_ddp(real, y))
                fake_score, fake_logits = self._split(self.critic_ddp(fake, y))
                terms = {"d_loss": self.loss.critic(real_score, fake_score),
                         "penalty": self.penalty(self.critic, real, fake, y)}
                if self.num_classes and real_logits is not None:
                    terms["d_aux"] = self.aux_weight * (F.cross_entropy(real_logits, y)
                                                        + self.aux_fake * F.cross_entropy(fake_logits, y))
            self.update("critic", terms, self.opt_d, self.params_d)
            with torch.no_grad():  # metrics: no autograd records, no detach ops
                values = stack_values([*terms.values(), real_score.mean(), fake_score.mean()])
                sums = values if sums is None else sums + values
            names = (*terms, "d_real", "d_fake")
            updates.append(Update("critic", index, names, values))

        batch_size = real.shape[0]
        if not self.num_classes:
            y_g = None
        elif self.mode_seeking:  # pairs drawn for the same class
            y_g = paired_labels(self.num_classes, batch_size, self.device)
        else:
            y_g = torch.randint(self.num_classes, (batch_size,), device=self.device)
        with self.update.autocast():
            z_g = self.generator.sample_latent(batch_size, device=self.device)
            fake = self.generator_ddp(z_g, y_g)
            # the raw critic: its parameters get no gradient from this update
            fake_score, fake_logits = self._split(self.critic(fake, y_g))
            if getattr(self.loss, "needs_real_score", False):
                # relativistic losses compare with real scores; those do not depend on G
                with torch.no_grad():
                    real_score_g = self._split(self.critic(real, y))[0]
                g_terms = {"g_loss": self.loss.generator(fake_score, real_score_g)}
            else:
                g_terms = {"g_loss": self.loss.generator(fake_score)}
            if self.num_classes and fake_logits is not None:
                g_terms["g_aux"] = self.aux_weight_g * F.cross_entropy(fake_logits, y_g)
            if self.mode_seeking:
                g_terms["g_ms"] = self.mode_seeking * mode_seeking_term(fake, z_g)
        ok = self.update("generator", g_terms, self.opt_g, self.params_g, backward_inputs=self.params_g)
        if self.ema_state is not None:
            self.ema_state.update(self.params_g, ok)
        with torch.no_grad():
            g_values = stack_values(list(g_terms.values()))
            means = sums / self.n_critic if self.n_critic > 1 else sums
            values = torch.cat([means, g_values.to(means.dtype)])
        updates.append(Update("generator", 0, tuple(g_terms), g_values))
        return StepOutput((*names, *g_terms), values, tuple(updates))

    def batches_per_step(self) -> int:
        return self.n_critic

    def samples_per_step(self) -> int:
        return self.n_critic * self.cfg.train.batch_size

    def learning_rates(self) -> dict[str, float]:
        return {"lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"]}

    # -- samples -----------------------------------------------------------------

    @torch.no_grad()
    def save_samples(self, path: Path, step: int, dataset) -> Path:
        net = self.ema_state.ready() if self.ema_state is not None else self.generator
        was_training = net.training
        net.eval()
        try:
            zs = self.fixed_z.split(256)
            ys = self.fixed_y.split(256) if self.fixed_y is not None else [None] * len(zs)
            fake = torch.cat([net(z, y) for z, y in zip(zs, ys)])
        finally:
            net.train(was_training)
        real = dataset.x[:len(fake)]
        label = f"{self.cfg.model_name} step {step}" + (" (EMA)" if self.ema is not None else "")
        return save_figure(path, fake, real, title=label)

    # -- state -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Tensor], dict]:
        tensors = {**ckpt.module_tensors("generator", self.generator), **ckpt.module_tensors("critic", self.critic)}
        t_g, m_g = ckpt.optimizer_state("opt_g", self.opt_g)
        t_d, m_d = ckpt.optimizer_state("opt_d", self.opt_d)
        tensors.update(t_g)
        tensors.update(t_d)
        meta = {"opt_g": m_g, "opt_d": m_d}
        if self.ema_state is not None:
            tensors.update(ckpt.module_tensors("ema", self.ema_state.ready()))
            meta[STATS_KEY] = STANDING
        return tensors, meta

    def load_state(self, tensors: dict[str, Tensor], meta: dict, where: str) -> None:
        ckpt.load_module("generator", self.generator, tensors, where)
        ckpt.load_module("critic", self.critic, tensors, where)
        ckpt.load_optimizer("opt_g", self.opt_g, tensors, meta.get("opt_g", {}), where)
        ckpt.load_optimizer("opt_d", self.opt_d, tensors, meta.get("opt_d", {}), where)
        if self.ema is not None:
            if not any(k.startswith("ema.") for k in tensors):
                self.ema.load_state_dict(self.generator.state_dict())  # EMA switched on at resume
                self.ema_state.loaded(standing=False)
            else:
                ckpt.load_module("ema", self.ema, tensors, where)
                self.ema_state.loaded(standing=meta.get(STATS_KEY) == STANDING)
        # optimiser hyper-parameters come from the (possibly overridden) config, not the checkpoint
        for optimizer, lr in ((self.opt_g, self.cfg.opt.lr_g), (self.opt_d, self.cfg.opt.lr_d)):
            for group in optimizer.param_groups:
                group.update(lr=lr, betas=tuple(self.cfg.opt.betas), weight_decay=self.cfg.opt.weight_decay)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator, "critic": self.critic}
