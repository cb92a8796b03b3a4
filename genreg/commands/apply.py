"""genreg apply RUN --in SPEC [KEY=VALUE ...] --out FILE.npz [--batch-size B] [--device D] [--value-range LO,HI]"""

EPILOG = """\
input: any data spec genreg reads, with its key=value parameters after it:
  npz:PATH [x_key=K] [y_key=K] [layout=...]   streamed member by member, row batch by row batch
  npy:PATH [y_path=P] [layout=...]            memory-mapped
  images:DIR [size=S] [channels=C] [value_range=LO,HI]   decoded a batch at a time
  a registered data set, e.g. radio n=1000 noise=uniform (split=test by default)
File inputs take every sample in file order (split=train|test picks the training partition).

output (FILE.npz; N = input samples, in order, in the input's own layout and units):
  denoiser     denoised        (N, ...) float32, same shape and units as the input
  autoencoder  reconstruction  (N, ...) float32, same shape and units as the input
               recon_error     (N,) float32, mean squared error per sample in the model's
                               (training data's) units: an anomaly score
               latent_mean     (N, *latent) float32 (VAE encoder mean; `latent` otherwise)
  passed through where the input has them: y (N,) labels; images: files, class_names

units: traces of a model trained on per-trace normalised data (radio) are normalised the
same way per trace and mapped back, so mV in gives mV out; images are mapped from their
value range (images:DIR value_range, 0..255 for uint8 arrays, --value-range) into the
model's and back."""


def add_parser(sub):
    import argparse

    p = sub.add_parser(
        "apply", help="run a trained denoiser or autoencoder over your data into an .npz",
        description="Load RUN's model (newest checkpoint, or a checkpoint directory) and apply it to every sample "
                    "of the input, in batches, with bounded memory and a progress bar.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint directory")
    p.add_argument("--in", dest="inputs", nargs="+", required=True, metavar=("SPEC", "KEY=VALUE"),
                   help="the input: SPEC [KEY=VALUE ...], e.g. --in npz:traces.npz x_key=traces")
    p.add_argument("--out", "-o", metavar="FILE.npz", required=True, help="the .npz to write")
    p.add_argument("--batch-size", type=int, metavar="B", help="samples per batch (default: about 1 MiB of input)")
    p.add_argument("--device", default="cpu", help="where to run the model: cpu (default), cuda, cuda:N")
    p.add_argument("--value-range", metavar="LO,HI",
                   help="pixel range of image inputs (default: the input's own, else the training data's)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def run(args) -> int:
    from .. import load
    from ..data import parse_assignments
    from ..errors import UsageError
    from ..inference.apply import apply_to_file

    spec, *words = args.inputs
    if "=" in spec and ":" not in spec.split("=", 1)[0]:
        raise UsageError(f"--in starts with the data spec (npz:PATH, images:DIR, radio, ...), got {spec!r}")
    params = parse_assignments(words)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    value_range = None
    if args.value_range is not None:
        try:
            value_range = tuple(float(v) for v in args.value_range.split(","))
        except ValueError:
            value_range = ()
        if len(value_range) != 2:
            raise UsageError(f"--value-range is LO,HI (two numbers), got {args.value_range!r}")
    model = load(args.run, device=args.device)
    summary = apply_to_file(model, spec, params, args.out, batch_size=args.batch_size, input_range=value_range,
                            progress=not args.quiet)
    keys = ", ".join(f"{k} {tuple(v)}" for k, v in summary["keys"].items())
    print(f"genreg: applied {model.name} (step {model.step}) to {summary['n']} samples of {spec}; "
          f"wrote {summary['out']}: {keys}")
    return 0
