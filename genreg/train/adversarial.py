"""AdversarialTrainer: any registered generator + critic, loss and penalty.

One training step = ``n_critic`` critic updates, each on a fresh real batch::

    L_D = loss.critic(D(real), D(G(z))) + penalty(D, real, G(z), y) [+ aux_weight * (CE(real) + CE(fake))]

then one generator update ``L_G = loss.generator(D(G(z)))`` [+ aux_weight * CE(fake)].
So WGAN-GP and WGAN-div differ only by the penalty entry. Class-conditional models
(``generator.num_classes > 0``): the critic returns ``(score, class_logits)``; in critic
steps the fakes are drawn for the real batch's labels, in generator steps for labels drawn
uniformly; both networks get the labels as ``y``. Separate Adam optimisers (``opt.lr_g``,
``opt.lr_d``); ``model.ema_decay > 0`` keeps an EMA copy of the generator used for samples.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UsageError
from ..models.base import AdversarialModel, describe_shape
from . import checkpoint as ckpt
from .distributed import unwrap, wrap
from .samples import save_figure


def _create(kind: str, name: str, params: dict, key: str):
    from .. import get_registry

    try:
        return get_registry().create(kind, name, **params)
    except TypeError as exc:
        raise UsageError(f"{key}: {kind} {name!r} rejected its parameters: {' '.join(str(exc).split())}") from None


class AdversarialTrainer:
    kind = "adversarial"

    def __init__(self, model: AdversarialModel, cfg, device: torch.device, ctx, guard, callbacks, run) -> None:
        mc, opt = model.config, cfg.opt
        self.model, self.cfg, self.device, self.ctx, self.guard = model, cfg, device, ctx, guard
        self.callbacks, self.run = callbacks, run
        self.G = model.generator.to(device)
        self.D = model.critic.to(device)
        self.loss = _create("loss", mc.loss, mc.loss_params, "model.loss_params")
        self.penalty = _create("penalty", mc.penalty, mc.penalty_params, "model.penalty_params")
        self.n_critic, self.aux_weight = mc.n_critic, mc.aux_weight
        self.num_classes = model.num_classes
        self.g = wrap(self.G, ctx, device)
        self.d = wrap(self.D, ctx, device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=opt.lr_g, betas=tuple(opt.betas),
                                      weight_decay=opt.weight_decay)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=opt.lr_d, betas=tuple(opt.betas),
                                      weight_decay=opt.weight_decay)
        self.grad_clip = opt.grad_clip
        self.ema_decay = mc.ema_decay
        self.ema = copy.deepcopy(self.G).requires_grad_(False) if self.ema_decay > 0 else None
        # Fixed latents for sample figures, from their own generator: drawing them must
        # not move the training RNG, or resumed runs would diverge.
        gen = torch.Generator().manual_seed(cfg.train.seed + 1_000_003)
        n = cfg.train.num_samples
        self.fixed_z = torch.randn(n, self.G.latent_dim, generator=gen).to(device)
        self.fixed_y = (torch.arange(n) % self.num_classes).to(device) if self.num_classes else None

    # -- checks ------------------------------------------------------------------

    def check_data(self, dataset) -> None:
        name = self.model.name or self.cfg.model_name
        want = tuple(self.G.output_shape)
        for role, shape in (("generator output", want), ("critic input", tuple(self.D.input_shape))):
            if shape and tuple(dataset.sample_shape) != shape:
                raise UsageError(f"data {dataset.name!r} has samples of shape {describe_shape(dataset.sample_shape)} "
                                 f"but model {name!r} has {role} shape {describe_shape(shape)}")
        dtype = next(self.G.parameters()).dtype
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

    def _split(self, out):
        if isinstance(out, tuple):
            return out[0], out[1]
        return out, None

    def step(self, step: int, next_batch) -> dict[str, Tensor]:
        sums: dict[str, Tensor] = {}
        for index in range(self.n_critic):
            batch = next_batch()
            real = batch["x"]
            y = batch.get("y") if self.num_classes else None
            with torch.no_grad():
                z = self.G.sample_latent(real.shape[0], device=self.device)
                fake = self.G(z, y)
            real_score, real_logits = self._split(self.d(real, y))
            fake_score, fake_logits = self._split(self.d(fake, y))
            terms = {"d_loss": self.loss.critic(real_score, fake_score),
                     "penalty": self.penalty(self.D, real, fake, y)}
            if self.num_classes and real_logits is not None:
                terms["d_aux"] = self.aux_weight * (F.cross_entropy(real_logits, y) + F.cross_entropy(fake_logits, y))
            self.guard.update(step, "critic", terms, self.opt_d, list(self.D.parameters()), self.grad_clip)
            terms["d_real"] = real_score.detach().mean()
            terms["d_fake"] = fake_score.detach().mean()
            for k, v in terms.items():
                sums[k] = sums[k] + v.detach() if k in sums else v.detach()
            if self.callbacks.has("critic_step"):
                self.callbacks.fire("critic_step", self.run, step=step, index=index, terms=terms)

        batch_size = real.shape[0]
        y_g = (torch.randint(self.num_classes, (batch_size,), device=self.device) if self.num_classes else None)
        z = self.G.sample_latent(batch_size, device=self.device)
        fake = self.g(z, y_g)
        # the unwrapped critic: its parameters get no gradient from this update
        fake_score, fake_logits = self._split(self.D(fake, y_g))
        if getattr(self.loss, "needs_real_score", False):
            # relativistic losses compare with real scores; those do not depend on G
            with torch.no_grad():
                real_score_g = self._split(self.D(real, y))[0]
            g_terms = {"g_loss": self.loss.generator(fake_score, real_score_g)}
        else:
            g_terms = {"g_loss": self.loss.generator(fake_score)}
        if self.num_classes and fake_logits is not None:
            g_terms["g_aux"] = self.aux_weight * F.cross_entropy(fake_logits, y_g)
        params_g = list(self.G.parameters())
        if self.guard.update(step, "generator", g_terms, self.opt_g, params_g, self.grad_clip,
                             backward_inputs=params_g) and self.ema is not None:
            self._update_ema()
        if self.callbacks.has("generator_step"):
            self.callbacks.fire("generator_step", self.run, step=step, terms=g_terms)
        metrics = {k: v / self.n_critic for k, v in sums.items()}
        metrics.update({k: v.detach() for k, v in g_terms.items()})
        return metrics

    @torch.no_grad()
    def _update_ema(self) -> None:
        for e, p in zip(self.ema.parameters(), self.G.parameters()):
            e.lerp_(p, 1.0 - self.ema_decay)
        for e, b in zip(self.ema.buffers(), self.G.buffers()):
            e.copy_(b)

    def samples_per_step(self) -> int:
        return self.n_critic * self.cfg.train.batch_size

    def learning_rates(self) -> dict[str, float]:
        return {"lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"]}

    # -- samples -----------------------------------------------------------------

    @torch.no_grad()
    def save_samples(self, path: Path, step: int, dataset) -> Path:
        net = self.ema if self.ema is not None else self.G
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
        tensors = {**ckpt.module_tensors("generator", self.G), **ckpt.module_tensors("critic", self.D)}
        t_g, m_g = ckpt.optimizer_state("opt_g", self.opt_g)
        t_d, m_d = ckpt.optimizer_state("opt_d", self.opt_d)
        tensors.update(t_g)
        tensors.update(t_d)
        if self.ema is not None:
            tensors.update(ckpt.module_tensors("ema", self.ema))
        return tensors, {"opt_g": m_g, "opt_d": m_d, "skipped": self.guard.skipped}

    def load_state(self, tensors: dict[str, Tensor], meta: dict, where: str) -> None:
        ckpt.load_module("generator", self.G, tensors, where)
        ckpt.load_module("critic", self.D, tensors, where)
        ckpt.load_optimizer("opt_g", self.opt_g, tensors, meta.get("opt_g", {}), where)
        ckpt.load_optimizer("opt_d", self.opt_d, tensors, meta.get("opt_d", {}), where)
        if self.ema is not None:
            if not any(k.startswith("ema.") for k in tensors):
                self.ema.load_state_dict(self.G.state_dict())  # EMA switched on at resume
            else:
                ckpt.load_module("ema", self.ema, tensors, where)
        self.guard.skipped = int(meta.get("skipped", 0))
        # optimiser hyper-parameters come from the (possibly overridden) config, not the checkpoint
        for optimizer, lr in ((self.opt_g, self.cfg.opt.lr_g), (self.opt_d, self.cfg.opt.lr_d)):
            for group in optimizer.param_groups:
                group.update(lr=lr, betas=tuple(self.cfg.opt.betas), weight_decay=self.cfg.opt.weight_decay)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"generator": unwrap(self.g), "critic": unwrap(self.d)}
