"""genreg eval RUN [--json] [--out DIR] [--n N] [--seed S] [--data KEY=VALUE ...] [--device D]"""

import json
import sys


def add_parser(sub):
    p = sub.add_parser(
        "eval", help="evaluate a trained run on its test data (metrics JSON + PNG figures)",
        description="Rebuild RUN's model from its newest checkpoint (or a checkpoint directory) and score it on "
                    "the test split of its data set: denoisers get the study's accuracy next to the noisy-input "
                    "and classical (band-pass + notch) baselines, accuracy vs SNR, spectra and example traces; VAEs "
                    "MSE against the mean image, active latent units, class agreement, reconstructions and a latent "
                    "interpolation; GANs sample grids, mode coverage (ring8, grid25), a Frechet distance in a "
                    "small feature network trained on the data (its test accuracy reported beside), and class "
                    "fidelity (acGAN); masked autoencoders the masked-patch MSE beside an interpolation / "
                    "mean-patch baseline and a linear probe beside random encoders; every registered metric that "
                    "declares it applies; the loss curves of RUN/metrics.jsonl. Writes DIR/eval.json and DIR/*.png "
                    "(DIR defaults to RUN/eval).")
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
        from ..eval.mae import summary

        return summary(metrics)
    head = f"{metrics['model']} step {metrics['step']}"
    clf = (f" (classifier test accuracy {100 * metrics['classifier_test_accuracy']:.1f} %)"
           if "classifier_test_accuracy" in metrics else "")
    extra = "".join(f"; {name} {_short(value)}" for name, value in metrics.get("metrics", {}).items())
    if kind == "denoiser":
        if "accuracy" not in metrics:
            return f"{head}: MSE {metrics['mse']:.3g} (noisy input {metrics['mse_baseline']:.3g}){extra}"
        return (f"{head}: accuracy {100 * metrics['accuracy']:.1f} % (noisy-input baseline "
                f"{100 * metrics['accuracy_baseline']:.1f} %, classical band-pass + notch "
                f"{100 * metrics['accuracy_classical']:.1f} %) on {metrics['n_test']} test traces; "
                f"MSE {metrics['mse']:.3g} (noisy input {metrics['mse_baseline']:.3g}, classical "
                f"{metrics['mse_classical']:.3g}){extra}")
    if kind == "autoencoder":
        text = f"{head}: test MSE {metrics['mse']:.3g} (mean image {metrics['mse_mean_image']:.3g})"
        if "mse_clean" in metrics:  # the inputs are noisy: the same reconstructions against clean images
            text = (f"{head}: test MSE vs noisy targets {metrics['mse']:.3g} (mean image "
                    f"{metrics['mse_mean_image']:.3g}), vs clean targets {metrics['mse_clean']:.3g} (mean image "
                    f"{metrics['mse_mean_image_clean']:.3g}, ratio {metrics['mse_ratio_to_mean_image_clean']:.3g}; "
                    f"input noise {metrics['mse_input_noise']:.3g})")
        if "kl" in metrics:
            text += f", KL {metrics['kl']:.3g}, {metrics['active_units']}/{metrics['latent_units']} active units"
        if "class_agreement" in metrics:
            text += f", class agreement {100 * metrics['class_agreement']:.1f} %{clf}"
        return f"{text} on {metrics['n_test']} images{extra}"
    parts = [head + ":"]
    if "modes_covered" in metrics:
        parts.append(f"{metrics['modes_covered']}/{metrics['num_modes']} modes covered, "
                     f"{100 * metrics['high_quality']:.1f} % high-quality samples")
    if metrics.get("frechet_distance") is not None:
        parts.append(f"Frechet distance {metrics['frechet_distance']:.3g} (real train vs test: "
                     f"{metrics['frechet_distance_real_train_vs_test']:.3g})")
    if metrics.get("frechet_distance_pixels4") is not None:
        parts.append(f"Frechet distance of 4x4-pooled pixels {metrics['frechet_distance_pixels4']:.3g}")
    if "modes_covered" not in metrics and metrics.get("frechet_distance_points") is not None:
        parts.append(f"Frechet distance of the points {metrics['frechet_distance_points']:.3g} (real train vs "
                     f"test: {metrics['frechet_distance_points_real_train_vs_test']:.3g})")
    if "class_fidelity" in metrics:
        parts.append(f"class fidelity {100 * metrics['class_fidelity']:.1f} %")
    if clf:
        parts.append(clf.strip())
    spread = [f"{where} mean {div['ratio_mean']:.2f} min {div['ratio_min']:.2f}"
              for key, where in (("intra_class_diversity", "features"), ("intra_class_diversity_pixels", "8x8 pixels"))
              if (div := metrics.get(key) or {}).get("ratio_mean") is not None]
    if spread:
        parts[-1] += "; intra-class diversity / real's: " + ", ".join(spread)
    if "spectrum_relative_l2" in metrics:
        parts.append(f"mean-spectrum gap {metrics['spectrum_relative_l2']:.3g}")
    return " ".join(parts) + extra


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def run(args) -> int:
    from ..data import parse_assignments
    from ..errors import UsageError
    from ..eval import evaluate

    if args.n is not None and args.n < 1:
        raise UsageError(f"--n must be >= 1, got {args.n}")
    overrides = parse_assignments(args.data)
    metrics = evaluate(args.run, args.out, n=args.n, seed=args.seed, data_overrides=overrides, device=args.device)
    for name, error in metrics.get("metric_errors", {}).items():
        print(f"genreg: warning: metric {name!r} failed: {error}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(metrics, indent=1) + "\n")
    else:
        print(_summary(metrics))
        figures = ", ".join(metrics.get("figures", {}).values())
        print(f"figures: {figures}")
    return 0
