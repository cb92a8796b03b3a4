"""Run configuration: typed dataclasses, TOML files and dotted ``key=value`` overrides.

A resolved run configuration has four sections::

    [model]  name = "mlp-gan" + the fields of the model entry's config dataclass
    [data]   name = "ring8"   + the keyword parameters of the data set's factory
    [train]  the fields of :class:`TrainConfig`
    [opt]    the fields of the model's optimiser dataclass (lr_g/lr_d or lr, betas, ...)

Values come in layers, later ones winning: the dataclass defaults, the model config
class's ``train_defaults`` / ``optim_defaults`` / ``data_defaults`` (the published
settings of that model), a stored config (``--resume``), a TOML file (``--config``), then
command-line overrides such as ``train.steps=2000 opt.lr_g=1e-4 data=galaxies data.size=64
model.loss_params.real_label=0.9``.

Every value a user types is read by one grammar (:mod:`genreg.config.grammar`), typed by
its target: a dataclass field, or the parameter of the entry it is for (``data.*`` by the
data set's factory, ``model.loss_params.*`` by the loss's constructor, ...). So an unknown
section, key or entry parameter, a value of the wrong type, a non-finite float or a value
out of range is a :class:`genreg.errors.UsageError` with one line naming the key and what
is allowed, raised while resolving (``genreg train ... --print-config`` already shows it),
before any data is built.

Modules: :mod:`.grammar` (text to values, ``module:attr`` importer), :mod:`.sections` (the
dataclasses, building one), :mod:`.resolve` (layers, cross-section checks, stored code),
:mod:`.tomlio` (TOML in and out). This package imports neither torch nor numpy (resolving
loads the named entries, which may).
"""

from .grammar import GrammarError, Text, convert, import_spec, parse_assignment, parse_assignments, type_name
from .resolve import (check_run, model_config_class, optim_class_for, parse_override, print_withheld_notice,
                      resolve, resolve_data, withheld_notice, world_size_from_env)
from .sections import (SECTIONS, AdversarialOptimConfig, ReconstructionOptimConfig, RunConfig, TrainConfig,
                       build_section, section_dict)
from .tomlio import dump_toml, load_toml

__all__ = [
    "SECTIONS", "TrainConfig", "AdversarialOptimConfig", "ReconstructionOptimConfig", "RunConfig",
    "section_dict", "build_section", "resolve", "resolve_data", "check_run", "model_config_class",
    "optim_class_for", "parse_override", "load_toml", "dump_toml", "withheld_notice", "print_withheld_notice",
    "world_size_from_env", "Text", "GrammarError", "convert", "import_spec", "parse_assignment",
    "parse_assignments", "type_name",
]
