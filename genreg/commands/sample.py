"""genreg sample RUN [--n N] [--class C] [--seed S] --out FILE.png"""


def add_parser(sub):
    p = sub.add_parser(
        "sample", help="draw samples from a trained generative run into a PNG",
        description="Rebuild RUN's generator (a GAN's, its EMA copy when the run kept one, or a VAE's decoder "
                    "on prior latents) from its newest checkpoint and write N samples to FILE.png: an image "
                    "grid, a 2-D scatter or stacked traces, by the data's shape.")
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint directory")
    p.add_argument("--out", "-o", metavar="FILE.png", required=True, help="the PNG to write")
    p.add_argument("--n", type=int, default=64, metavar="N", help="number of samples (default 64)")
    p.add_argument("--class", dest="label", type=int, metavar="C",
                   help="class index for class-conditional models (default: cycle through the classes)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where to run the model (default cpu)")
    return p


def run(args) -> int:
    from pathlib import Path

    from ..errors import UsageError
    from ..eval import eval_dataset, generate, load_run, save_samples

    if args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, got {args.out!r}")
    loaded = load_run(args.run, args.device)
    samples, labels = generate(loaded, args.n, seed=args.seed, label=args.label)
    meta, names = {}, ()
    if tuple(samples.shape[1:]) == (2,) or samples.dim() == 4:
        data = eval_dataset(loaded, n=None)  # mode centres / value range / class names for the plot
        meta, names = data.meta, data.class_names
    path = save_samples(samples, out, labels=labels if args.label is None else None, class_names=names,
                        meta=meta, title=f"{loaded.cfg.model_name} step {loaded.step}")
    print(f"genreg: wrote {args.n} samples of {loaded.cfg.model_name} (step {loaded.step}) to {path}")
    return 0
