"""Write real installed-looking distributions (dist-info + entry points) into a folder,
so tests exercise genreg's entry-point discovery exactly as pip-installed plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_dist(root: Path, dist: str, version: str, module: str, source: str | None, ep_name: str | None = None) -> Path:
    """A package ``module`` and a ``dist``-``version`` dist-info declaring it in the ``genreg`` group.

    ``source=None`` writes no package: the entry point then names an existing module
    (e.g. one of genreg's own)."""
    if source is not None:
        pkg = root / module
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[genreg]\n{ep_name or dist} = {module}\n")
    return info


GOOD = """
    import genreg

    @genreg.hookimpl
    def genreg_register_losses(register):
        register("toy-loss", "builtins:abs", summary="a loss from a third-party package", tags=("toy",))

    @genreg.hookimpl
    def genreg_register_models(register):
        register("toy-model", lambda **kw: ("toy", kw), summary="a model from a third-party package")
"""

IMPORT_ERROR = """
    import a_module_that_does_not_exist_anywhere
"""

RAISING_HOOK = """
    import genreg

    @genreg.hookimpl
    def genreg_register_models(register):
        register("half-registered", lambda: None)
        raise RuntimeError("boom in hook")
"""

UNKNOWN_HOOK = """
    import genreg

    @genreg.hookimpl
    def genreg_register_spaceships(register):
        pass
"""

DUPLICATE = """
    import genreg

    @genreg.hookimpl
    def genreg_register_losses(register):
        register("bce", lambda: None, summary="clashes with the built-in")
"""

FUTURE_API = """
    import genreg
    GENREG_HOOK_API = 99

    @genreg.hookimpl
    def genreg_register_losses(register):
        register("from-the-future", lambda: None)
"""

# an entry point named like a built-in plugin, registering a model of its own
NAMED_LIKE_BUILTIN = """
    import genreg

    @genreg.hookimpl
    def genreg_register_models(register):
        register("impostor", lambda **kw: None, summary="from a plugin whose entry point is named genreg.models")
"""

# four entries, one of them named like a built-in loss
ONE_CLASH = """
    import genreg

    @genreg.hookimpl
    def genreg_register_losses(register):
        register("hinge", lambda **kw: None, summary="clashes with the built-in hinge")
        register("soft-hinge", lambda **kw: None)

    @genreg.hookimpl
    def genreg_register_models(register):
        register("hinge-mlp", lambda **kw: None)

    @genreg.hookimpl
    def genreg_register_penalties(register):
        register("hinge-r1", lambda **kw: None)
"""

# a data set whose factory rejects a bad parameter with a plain ValueError, as authors write it
VALUE_ERROR_DATA = """
    import genreg

    def points(split="train", seed=0, n: int = 64):
        if n <= 0:
            raise ValueError(f"n must be > 0, got {n}")
        import torch
        from genreg.data.base import ArrayDataset
        return ArrayDataset(torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)), name="pts")

    @genreg.hookimpl
    def genreg_register_datasets(register):
        register("pts", points, summary="random 2-D points")
"""

# written against the hook API 1 of the original docs: no preset hook, the API declared
OLD_API = """
    import genreg
    GENREG_HOOK_API = 1

    @genreg.hookimpl
    def genreg_register_losses(register):
        register("old-loss", "builtins:abs")
"""

# a plugin taking part in `genreg eval`: a 2-D point data set without mode centres and
# metrics declaring what they apply to (one applicable, one for another family, one that
# needs an input no evaluation provides, one that raises)
EVAL_PLUGIN = """
    import genreg
    import torch

    def blobs(split="train", seed=0, n=256):
        from genreg.data.base import ArrayDataset

        g = torch.Generator().manual_seed(seed * 2 + (split == "test"))
        centres = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
        x = centres[torch.arange(n) % 2] + 0.1 * torch.randn(n, 2, generator=g)
        return ArrayDataset(x, name="toy-blobs")

    def spread_ratio(samples, real):
        return float(samples.std(0).mean() / real.std(0).mean())

    def mse_only(recovered, true):
        return 0.0

    def needs_more(samples, something_else):
        return 0.0

    def broken(samples):
        raise ValueError("no luck")

    def not_a_number(samples):
        return object()

    @genreg.hookimpl
    def genreg_register_datasets(register):
        register("toy-blobs", blobs, tags=("points",), summary="two blobs, no mode centres")

    @genreg.hookimpl
    def genreg_register_metrics(register):
        register("toy-spread", spread_ratio, applies_to={"kind": "gan", "shape": "points", "data": "toy-*"})
        register("toy-denoise", mse_only, applies_to={"kind": ["denoiser"]})
        register("toy-needs", needs_more, applies_to={"shape": "points"})
        register("toy-broken", broken, applies_to={"data": ["toy-blobs"]})
        register("toy-object", not_a_number, applies_to={"kind": "gan"})
        register("toy-library", spread_ratio)  # no applies_to: not run by genreg eval
"""
