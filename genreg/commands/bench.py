"""genreg bench [--quick] [--json] [--train-overhead [MODEL ...]]"""

from . import print_json


def add_parser(sub):
    p = sub.add_parser("bench", help="time the fused kernels against eager and compiled PyTorch (CPU)")
    p.add_argument("--quick", action="store_true", help="the smaller sizes only, shorter timings")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile column (slow to compile)")
    p.add_argument("--threads", type=int, default=0, metavar="N",
                   help="CPU threads (default: torch's, one per core); 1 is steadier on a busy machine")
    p.add_argument("--train-overhead", nargs="*", metavar="MODEL", default=None,
                   help="instead: the training loop vs a hand-written loop on the same networks "
                        "(default models: vae dae1d mlp-gan wgan-gp); target hand/trainer >= 0.97")
    return p


def run(args) -> int:
    from ..bench_report import format_table, run_benchmarks
    from ..errors import UsageError

    if args.threads < 0:
        raise UsageError(f"--threads must be >= 1 (0 = torch's default), got {args.threads}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    if args.train_overhead is not None:
        from ..training import overhead

        models = args.train_overhead or list(overhead.MODELS)
        unknown = [m for m in models if m not in overhead.MODELS]
        if unknown:
            raise UsageError(f"--train-overhead: no hand-written loop for {', '.join(unknown)}; "
                             f"models: {', '.join(overhead.MODELS)}")
        rows = overhead.report(quick=args.quick, models=models)
        print_json(rows) if args.json else print(overhead.format_report(rows))
        return 0
    report = run_benchmarks(quick=args.quick, compile=not args.no_compile)
    print_json(report) if args.json else print(format_table(report))
    return 0
