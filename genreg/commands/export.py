"""genreg export RUN --format torchscript|onnx|exported-program --out FILE [--device D]"""

EPILOG = """\
artefacts (B any batch size; run without genreg installed):
  generator (GANs)   z (B, latent_dim) float32 [, y (B,) int64 for conditional models] -> samples
  denoiser           x (B, *input_shape) -> denoised, same units (a per-trace normalisation of the
                     training data, as radio's, is inside the graph: raw units in, raw units out)
  autoencoder / VAE  the decoder: z (B, *latent) -> samples in the training data's units
loading:
  torchscript        torch.jit.load(FILE)(z)
  exported-program   torch.export.load(FILE).module()(z)        (FILE must end in .pt2)
  onnx               onnxruntime.InferenceSession(FILE).run(None, {"z": z})   (pip install 'genreg[onnx]')
Fused kernels are traced through their pure-PyTorch reference; the command loads the
artefact back, runs it on random inputs next to the model and prints the largest difference."""


def add_parser(sub):
    import argparse

    p = sub.add_parser(
        "export", help="write a trained generator, denoiser or decoder as a standalone TorchScript/ONNX/.pt2 file",
        description="Export RUN's model (newest checkpoint, or a checkpoint directory) so that it runs with plain "
                    "PyTorch or onnxruntime and no genreg.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint directory")
    p.add_argument("--format", "-f", required=True, choices=("torchscript", "onnx", "exported-program"),
                   help="artefact format")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="the file to write (.pt, .onnx, .pt2)")
    p.add_argument("--device", default="cpu", help="where to load the model for the check (default cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random check inputs (default 0)")
    return p


def run(args) -> int:
    from .. import load
    from ..inference.export import export

    model = load(args.run, device=args.device)
    report = export(model, args.format, args.out, seed=args.seed)
    inputs = ", ".join(f"{k} (B, {', '.join(map(str, v))})" if v else f"{k} (B,)" for k, v in report["inputs"].items())
    print(f"genreg: exported the {report['what']} of {model.name} (step {model.step}) as {args.format} to "
          f"{report['path']}: inputs {inputs} -> output (B, {', '.join(map(str, report['output_shape']))}); "
          f"largest difference to the model on random inputs {report['max_abs_diff']:.3g}")
    return 0
