"""The plugin author's contract: the hooks genreg calls.

A plugin is a module (or any object) with functions named after these hooks and
decorated with :data:`genreg.hookimpl`. Each hook receives a ``register`` callable
that is already bound to one kind of entry::

    register(name, factory, *, summary="", tags=(), **extra)

``name``     lower-case name, unique within its kind (``"wgan-gp"``, ``"ring8"``).
``factory``  a callable building the thing from keyword overrides, or a
             ``"package.module:attribute"`` string imported only when first used
             (keeps ``genreg list`` fast: prefer strings for anything importing torch).
``summary``  one line shown by ``genreg list``.
``tags``     free-form labels (``"gan"``, ``"1d"``, ``"conditional"``).
``extra``    metadata kept on the entry (for example ``config=`` a dataclass type).

An entry whose (kind, name) another plugin already has is refused alone (the plugin's
other entries stay): entries never replace or shadow another plugin's.

A hook implementation may take fewer arguments than its spec, so new arguments can
be added without breaking existing plugins; every hook is optional, so new hooks
(``genreg_register_presets``) need no change to existing plugins.
"""

import pluggy

PROJECT = "genreg"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def genreg_register_models(register):
    """Register models: generators + critics, autoencoders, VAEs, denoisers.

    A model factory takes keyword overrides of its defaults and returns the model
    object the trainers use: genreg.models.base.AdversarialModel or ReconstructionModel
    (networks from genreg.interfaces, plus a typed config dataclass; see that module).
    """


@hookspec
def genreg_register_losses(register):
    """Register adversarial losses (``bce``, ``wasserstein``, ...).

    A loss factory returns an object with ``critic(real_score, fake_score)`` and
    ``generator(fake_score)``, both scalar tensors to minimise (see
    genreg.losses.adversarial; set ``needs_real_score = True`` to get
    ``generator(fake_score, real_score)``).
    """


@hookspec
def genreg_register_penalties(register):
    """Register critic penalties (``gp``, ``div``, ``none``): callables
    ``penalty(critic, real, fake, labels=None) -> scalar tensor``.
    """


@hookspec
def genreg_register_datasets(register):
    """Register data sets: simulators and loaders selectable by name from the CLI.

    A data-set factory is called ``factory(split="train", seed=0, **params)`` and returns a
    genreg.data.base.ArrayDataset (items ``x``, optional ``target`` and ``y``).
    """


@hookspec
def genreg_register_metrics(register):
    """Register evaluation metrics used by ``genreg eval``.

    A metric entry's factory is the metric function itself: ``create("metric", name,
    **inputs)`` computes it. Registered with ``applies_to={"kind": ..., "shape": ...,
    "data": ...}`` it is run by ``genreg eval`` on every matching run, with the keyword
    arguments its signature names (see genreg.eval.registered for what each evaluation
    provides); its value goes into eval.json under ``metrics``.
    """


@hookspec
def genreg_register_presets(register):
    """Register presets: named settings for ``genreg train MODEL --preset NAME``.

    A preset is data, not code: its factory is a dict (or a callable / ``"module:attr"``
    string returning one) of dotted ``key=value`` overrides in the grammar of the
    command line, with Python values::

        register("mygan-ring8", {"model": "mygan", "data": "ring8",
                                 "model.latent_dim": 2, "opt.betas": [0.5, 0.9]},
                 summary="mygan on 8 Gaussians")

    ``"model"`` names the model the preset is for, ``"data"`` the data set; the values
    are applied after the model's defaults and before the user's config file and
    overrides. Keys that name code to import (``train.callbacks``) are refused. Optional:
    plugins written before this hook existed need not implement it.
    """
