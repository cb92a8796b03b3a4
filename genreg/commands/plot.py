"""genreg plot RUN [--out FILE.png]"""


def add_parser(sub):
    p = sub.add_parser(
        "plot", help="draw a run's loss curves from its metrics.jsonl into a PNG",
        description="Draw every loss term, learning rate and throughput column that RUN logged to "
                    "RUN/metrics.jsonl against the step, one panel each; works while the run is still "
                    "training (a torn last line is skipped). `genreg eval` draws the same figure into RUN/eval.")
    p.add_argument("run", metavar="RUN", help="run directory (holding metrics.jsonl)")
    p.add_argument("--out", "-o", metavar="FILE.png", help="the PNG to write (default RUN/loss_curves.png)")
    return p


def run(args) -> int:
    from pathlib import Path

    from ..errors import UsageError
    from ..plotting.curves import plot_loss_curves

    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise UsageError(f"{args.run!r} is not a run directory")
    out = Path(args.out) if args.out else run_dir / "loss_curves.png"
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, got {args.out!r}")
    path = plot_loss_curves(run_dir / "metrics.jsonl", out, title=run_dir.name)
    print(f"genreg: wrote the loss curves of {run_dir} to {path}")
    return 0
