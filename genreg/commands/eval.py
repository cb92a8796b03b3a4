"""genreg eval RUN [--json] [--out DIR] [--n N] [--seed S] [--data KEY=VALUE ...] [--device D]"""

import json
import sys


def add_parser(sub):
    p = sub.add_parser(
        "eval", help="evaluate a trained run on its test data (metrics JSON + PNG figures)",
        description="Rebuild RUN's model from its newest checkpoint (or a checkpoint directory) and score it on "
                    "the test split of its data set: denoisers get the study's accuracy next to the noisy-input "
                    "baseline, accuracy vs SNR, spectra and example traces; VAEs reconstructions and a latent "
                    "interpolation; GANs sample grids, mode coverage (ring8, grid25), a Frechet distance in a "
                    "small feature network trained on the data, and class fidelity (acGAN); masked autoencoders the "
                    "masked-patch MSE beside an interpolation / mean-patch baseline and a linear probe beside random "
                    "encoders. Writes DIR/eval.json "
                    "and DIR/*.png (DIR defaults to RUN/eval).")
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint directory")
    p.add_argument("--out", "-o", metavar="DIR", help="where eval.json and the figures go (default RUN/eval)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON on stdout")
    p.add_argument("--n", type=int, metavar="N", help="test samples (denoiser, VAE) or generated samples (GAN)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples and the feature network")
    p.add_argument("--data", action="append", default=[], metavar="KEY=VALUE",
                   help="override a data parameter for the evaluation, e.g. --data noise=uniform (repeatable)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where to run the model (default cpu)")
    return p


def _summary(metrics: dict) -> str:
    kind = metrics.get("kind")
    if kind == "mae":
        from ..eval_mae import summary

        return summary(metrics)
    head = f"{metrics['model']} step {metrics['step']}"
    if kind == "denoiser":
        return (f"{head}: accuracy {100 * metrics['accuracy']:.1f} % (noisy-input baseline "
                f"{100 * metrics['accuracy_baseline']:.1f} %) on {metrics['n_test']} test traces; "
                f"MSE {metrics['mse']:.3g} (baseline {metrics['mse_baseline']:.3g})")
    if kind == "autoencoder":
        kl = f", KL {metrics['kl']:.3g}" if "kl" in metrics else ""
        return f"{head}: test MSE {metrics['mse']:.3g}{kl} on {metrics['n_test']} images"
    parts = [head + ":"]
    if "modes_covered" in metrics:
        parts.append(f"{metrics['modes_covered']}/{metrics['num_modes']} modes covered, "
                     f"{100 * metrics['high_quality']:.1f} % high-quality samples")
    if metrics.get("frechet_distance") is not None:
        parts.append(f"Frechet distance {metrics['frechet_distance']:.3g} (real train vs test: "
                     f"{metrics['frechet_distance_real_train_vs_test']:.3g})")
    if "class_fidelity" in metrics:
        parts.append(f"class fidelity {100 * metrics['class_fidelity']:.1f} %")
    if "spectrum_relative_l2" in metrics:
        parts.append(f"mean-spectrum gap {metrics['spectrum_relative_l2']:.3g}")
    return " ".join(parts)


def run(args) -> int:
    from ..data import parse_assignments
    from ..errors import UsageError
    from ..evaluate import evaluate

    if args.n is not None and args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    overrides = parse_assignments(args.data)
    metrics = evaluate(args.run, args.out, n=args.n, seed=args.seed, data_overrides=overrides, device=args.device)
    if args.json:
        sys.stdout.write(json.dumps(metrics, indent=1) + "\n")
    else:
        print(_summary(metrics))
        figures = ", ".join(metrics.get("figures", {}).values())
        print(f"figures: {figures}")
    return 0
