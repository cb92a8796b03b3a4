"""genreg sample RUN --out FILE.npz|FILE.npy|FILE.png [--n N] [--class C] [--seed S] [--batch-size B]"""

EPILOG = """\
outputs:
  FILE.npz  x (N, *sample_shape) float32 in the training data's units and value range;
            y (N,) int64 class labels for class-conditional models
  FILE.npy  x alone (labels: use .npz)
  FILE.png  a picture: image grid (one row per class), 2-D scatter or stacked traces
Sample i's latent depends only on --seed and i, whatever --batch-size: the same seed gives
bitwise the same samples (with another --batch-size, the same up to float rounding).
Arrays are written batch by batch into a memory-mapped file."""


def add_parser(sub):
    import argparse

    p = sub.add_parser(
        "sample", help="draw samples from a trained generative run into an array file or a PNG",
        description="Rebuild RUN's generator (a GAN's, its EMA copy when the run kept one, or a VAE's decoder "
                    "on prior latents) from its newest checkpoint and write N samples to FILE: arrays (.npz, .npy) "
                    "or a picture (.png).", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint directory")
    p.add_argument("--out", "-o", metavar="FILE", required=True, help="the .npz, .npy or .png to write")
    p.add_argument("--n", type=int, default=64, metavar="N", help="number of samples (default 64)")
    p.add_argument("--class", dest="label", type=int, metavar="C",
                   help="class index for class-conditional models (default: cycle through the classes)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    p.add_argument("--batch-size", type=int, metavar="B", help="samples per batch (default: about 1 MiB of output)")
    p.add_argument("--device", default="cpu", help="where to run the model: cpu (default), cuda, cuda:N")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def _png(model, x, labels, label, out):
    import torch

    from ..plotting import save_samples
    from ..training.data import build_dataset

    meta, names = {}, ()
    if tuple(x.shape[1:]) == (2,) or x.ndim == 4:
        try:  # mode centres / value range / class names for the plot
            data = build_dataset(dict(model.config.data), "test", model.config.train.seed)
            meta, names = data.meta, data.class_names
        except Exception:  # a data file that is gone: plot without them
            pass
    return save_samples(torch.from_numpy(x), out, labels=None if labels is None or label is not None
                        else torch.from_numpy(labels), class_names=names, meta=meta,
                        title=f"{model.name} step {model.step}")


def run(args) -> int:
    import numpy as np

    from .. import load
    from ..errors import UsageError
    from ..inference.writers import OutputStore, check_output

    if args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    out = check_output(args.out, (".npz", ".npy", ".png"))
    model = load(args.run, device=args.device)
    if not hasattr(model, "sample"):
        raise UsageError(f"model {model.name!r} is a {model.family}: it maps inputs to outputs and draws no samples "
                         "of its own; use `genreg apply` on your data or `genreg eval` for its test-set figures")
    if args.label is not None and not getattr(model, "num_classes", 0):
        raise UsageError(f"model {model.name!r} is not class-conditional: --class needs an acGAN-type model")
    if args.label is not None and not 0 <= args.label < model.num_classes:
        raise UsageError(f"--class must lie in [0, {model.num_classes}), got {args.label}")
    kind = out.suffix.lower()
    if kind == ".png":
        x, labels = model.sample(args.n, y=args.label, seed=args.seed, batch_size=args.batch_size,
                                 progress=not args.quiet)
        path = _png(model, x, labels, args.label, out)
    else:
        with OutputStore(out) as store:
            x = store.array("x", (args.n, *model.sample_shape), np.float32)
            _, labels = model.sample(args.n, y=args.label, seed=args.seed, batch_size=args.batch_size, out=x,
                                     progress=not args.quiet)
            if labels is not None and kind == ".npz":
                store.put("y", labels)
            path = store.commit_npz() if kind == ".npz" else store.commit_npy("x")
    print(f"genreg: wrote {args.n} samples of {model.name} (step {model.step}) to {path}")
    return 0
