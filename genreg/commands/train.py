"""genreg train MODEL [--preset NAME] [--config F] [KEY=VALUE ...] [--out DIR] [--resume DIR [--trust-callbacks]] [--device D] [--print-config] [--quiet]"""

import sys


def add_parser(sub):
    p = sub.add_parser(
        "train", help="train a registered model",
        description="Train MODEL. Settings come from the model's defaults, then --preset NAME, then --config FILE (TOML), then "
                    "KEY=VALUE overrides such as train.steps=2000 opt.lr_g=1e-4 data=ring8 data.n=4096 "
                    "model.n_critic=5. Under `torchrun --nproc_per_node=K` the same command trains on K processes.")
    p.add_argument("model", nargs="?", help="model name (see `genreg list --kind model`); "
                   "optional with --resume or a config file that sets model.name")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides (section.key=value)")
    p.add_argument("--preset", "-p", metavar="NAME", help="named settings (`genreg list --kind preset`); "
                   "NAME or, for MODEL, MODEL-NAME (wgan-gp --preset ring8 is wgan-gp-ring8)")
    p.add_argument("--config", "-c", metavar="FILE", help="TOML config file")
    p.add_argument("--out", "-o", metavar="DIR", help="run directory (default: runs/MODEL-DATE-TIME; "
                   "with --resume: the resumed run's directory)")
    p.add_argument("--resume", metavar="DIR", help="continue from a run directory's newest checkpoint "
                   "or from a checkpoint directory")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="overrides train.device")
    p.add_argument("--trust-callbacks", action="store_true", help="with --resume: also load the train.callbacks "
                   "the stored config names (by default they are listed, not imported)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config (TOML) and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(_extra_positionals="overrides")
    return p


def _split_args(args):
    # `genreg train train.steps=5` (no MODEL, e.g. with --resume): the first positional is an override
    model, overrides = args.model, list(args.overrides)
    if model is not None and "=" in model:
        model, overrides = None, [model, *overrides]
    return model, overrides


def run(args) -> int:
    from ..training.loop import resolve_run, train

    model, overrides = _split_args(args)
    if args.print_config:
        cfg, _ = resolve_run(model, config=args.config, overrides=overrides, resume=args.resume, device=args.device,
                             trust_callbacks=args.trust_callbacks, preset=args.preset)
        sys.stdout.write(cfg.to_toml())
        return 0
    result = train(model, config=args.config, overrides=overrides, out=args.out, resume=args.resume,
                   device=args.device, quiet=args.quiet, trust_callbacks=args.trust_callbacks, preset=args.preset)
    if result.run_dir is not None and _is_main():
        print(f"genreg: {result.summary}", file=sys.stderr if result.interrupted else sys.stdout)
    return 130 if result.interrupted == "SIGINT" else (143 if result.interrupted else 0)


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
