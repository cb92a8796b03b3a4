"""The trainer contract: keyword-only trainers, the kind decided once, events fired by the
loop, the caller's config left alone, and ``genreg.train`` a plain function."""

import copy
import inspect
import subprocess
import sys
import types

import pytest

import genreg
from genreg.errors import UsageError
from genreg.training.adversarial import AdversarialTrainer
from genreg.training.reconstruction import ReconstructionTrainer
from genreg.training.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

TRAINERS = [AdversarialTrainer, ReconstructionTrainer]


@pytest.mark.parametrize("cls", TRAINERS)
def test_trainers_fulfil_the_protocol_with_keyword_only_constructors(cls):
    wanted = [name for name in vars(Trainer) if not name.startswith("_")]
    assert {"step", "state", "load_state", "save_samples", "samples_per_step", "learning_rates",
            "batches_per_step", "check_data", "modules"} <= set(wanted)
    missing = [name for name in wanted if not hasattr(cls, name)]
    assert not missing, f"{cls.__name__} lacks {missing}"
    assert not hasattr(cls, "kind")  # the kind is the model config's, decided in one place
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert params and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    with pytest.raises(TypeError):
        cls(None, None, None, None, None)


def test_a_config_and_model_of_different_kinds_is_a_one_line_error(toys, tmp_path):
    with pytest.raises(UsageError) as info:
        genreg.train("toy-mismatch", overrides=["data=toy-vectors", "train.steps=1"], out=tmp_path / "run",
                     quiet=True)
    message = str(info.value)
    assert "\n" not in message
    assert "declares the reconstruction trainer, but its factory built a AdversarialModel" in message


def test_the_loop_fires_update_events_and_trainers_hold_no_callbacks(toys, tmp_path):
    seen = {}

    def start(run):
        seen["trainer"] = run.trainer

    genreg.train("mlp-gan", overrides=["data=toy-blob", "train.steps=1", "train.batch_size=32", "model.hidden=8",
                                       "model.n_critic=2", "train.sample_every=0"],
                 out=tmp_path / "run", callbacks={"train_start": start}, quiet=True)
    trainer = seen["trainer"]
    assert not hasattr(trainer, "callbacks") and not hasattr(trainer, "run")
    # raw vs DDP-wrapped networks have names that say so (one process: the same objects)
    assert trainer.generator_ddp is trainer.generator and trainer.critic_ddp is trainer.critic
    assert trainer.modules() == {"generator": trainer.generator, "critic": trainer.critic}


def test_the_callers_config_is_not_edited(toys, tmp_path):
    from genreg.training.loop import TrainingRun, resolve_run
    from genreg.training.callbacks import Callbacks

    cfg, _ = resolve_run("dae1d", overrides=["data=radio", "data.n=64", "train.steps=1", "train.batch_size=8",
                                             "train.sample_every=0"])
    before = copy.deepcopy(cfg)
    run = TrainingRun(cfg, run_dir=tmp_path / "run", resume_from=None, quiet=True, callbacks=Callbacks())
    run.setup()
    assert cfg == before  # the caller's object and its model section are untouched
    assert run.cfg is not cfg and run.cfg.model != cfg.model  # the run holds the resolved copy
    assert run.cfg.model == cfg.model.fit_data(tuple(run.dataset.sample_shape), run.dataset.num_classes)


def test_genreg_train_is_a_plain_function_that_survives_submodule_imports():
    assert isinstance(genreg.train, types.FunctionType)
    assert "genreg.train" not in sys.modules  # no module shares the function's name
    code = ("import genreg.training.loop as loop, genreg.training.guard, types, sys; import genreg; "
            "from genreg.training import checkpoint; "
            "assert isinstance(genreg.train, types.FunctionType), genreg.train; "
            "assert 'genreg.train' not in sys.modules; "
            "assert sys.modules['genreg.training'].TrainResult is loop.TrainResult; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    cold = subprocess.run([sys.executable, "-c", "import sys, genreg; print('torch' in sys.modules)"],
                          capture_output=True, text=True, timeout=120)
    assert cold.stdout.strip() == "False", cold.stderr  # importing genreg stays cheap


def test_train_overhead_bench_rejects_an_unknown_model_in_one_line(capsys):
    from genreg.cli import main

    assert main(["bench", "--train-overhead", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no hand-written loop for nope" in err
