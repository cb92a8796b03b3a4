"""Two processes with gloo (as under torchrun) take the same steps as one process on the global batch."""

import json
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

import genreg
from genreg.training import checkpoint as ckpt

from ddp_worker import train_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_two(model, overrides, out, resume=None):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    mp.spawn(train_worker, args=(2, free_port(), model, overrides, str(out), resume), nprocs=2, join=True)


def weights(run_dir, prefixes):
    tensors, state = ckpt.load(ckpt.find(run_dir))
    return {k: v for k, v in tensors.items() if k.startswith(prefixes)}, state


def test_two_gloo_processes_match_one_process_on_the_global_batch(toys, tmp_path):
    overrides = ["data=toy-vectors", "train.batch_size=32", "train.steps=6", "train.log_every=3",
                 "train.sample_every=0", "opt.lr=3e-3"]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        genreg.train("mlp-ae", overrides=overrides, out=tmp_path / "one", quiet=True, device="cpu")
    finally:
        torch.set_num_threads(before)
    spawn_two("mlp-ae", overrides, tmp_path / "two")
    one, _ = weights(tmp_path / "one", ("model.",))
    two, state = weights(tmp_path / "two", ("model.",))
    assert state["world_size"] == 2 and state["step"] == 6
    assert state["data"]["batch_size"] == 16  # each process took half of the global batch
    assert sorted(one) == sorted(two)
    start = genreg.create("model", "mlp-ae")  # the runs moved far from any fresh init...
    for key in one:
        # ...and agree up to float rounding (the mean over 32 vs the mean of two means over 16)
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
    assert not torch.equal(one["model.encoder.net.0.weight"], start.encoder.net[0].weight.detach())
    from safetensors.torch import load_file

    rank0, rank1 = (load_file(str(tmp_path / "two" / f"params-rank{r}.safetensors")) for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # DDP kept the processes in step


@pytest.mark.slow
def test_two_gloo_processes_resume_an_adversarial_run_exactly(toys, tmp_path):
    overrides = ["data=toy-blob", "model.hidden=16", "model.n_critic=2", "train.batch_size=32",
                 "train.sample_every=0", "train.checkpoint_every=2", "train.log_every=1"]
    spawn_two("mlp-gan", overrides + ["train.steps=6"], tmp_path / "full")
    spawn_two("mlp-gan", overrides + ["train.steps=4"], tmp_path / "part")
    spawn_two(None, ["train.steps=6"], tmp_path / "part", resume=str(tmp_path / "part"))
    full, state = weights(tmp_path / "full", ("generator.", "critic.", "opt_", "rng."))
    part, _ = weights(tmp_path / "part", ("generator.", "critic.", "opt_", "rng."))
    assert state["step"] == 6 and state["world_size"] == 2
    assert {"rng.torch.rank0", "rng.torch.rank1"} <= set(full)
    assert sorted(full) == sorted(part)
    assert all(torch.equal(full[k], part[k]) for k in full)
    from safetensors.torch import load_file

    rank0, rank1 = (load_file(str(tmp_path / "full" / f"params-rank{r}.safetensors")) for r in (0, 1))
    assert sorted(rank0) == sorted(rank1) and all(torch.equal(rank0[k], rank1[k]) for k in rank0)


@pytest.mark.slow
def test_torchrun_launch(toys, tmp_path):
    import shutil
    import subprocess
    import sys

    from cli_runs import HERE, cli_env

    if shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists():
        pytest.skip("torchrun is not installed next to this Python")
    torchrun = str(Path(sys.executable).parent / "torchrun") if (Path(sys.executable).parent / "torchrun").exists() \
        else shutil.which("torchrun")
    done = subprocess.run([torchrun, "--nproc_per_node=2", f"--master_port={free_port()}", str(HERE / "run_cli.py"),
                           "train", "mlp-ae", "data=toy-vectors", "train.batch_size=32", "train.steps=4",
                           "train.sample_every=2", "--out", str(tmp_path / "run"), "--quiet"],
                          capture_output=True, text=True, timeout=300, env=cli_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("trained mlp-ae") == 1  # rank 0 alone reports
    assert "on 2 processes" in done.stdout
    _, state = weights(tmp_path / "run", ("model.",))
    assert state["world_size"] == 2 and state["step"] == 4


def test_two_gloo_processes_train_a_model_with_its_own_loss_terms(toys, tmp_path):
    """net.loss_terms through the DDP-wrapped pipeline: gradients averaged like any forward."""
    overrides = ["data=toy-vectors", "train.batch_size=32", "train.steps=4", "train.log_every=2",
                 "train.sample_every=0", "opt.lr=3e-3"]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        genreg.train("toy-masked", overrides=overrides, out=tmp_path / "one", quiet=True, device="cpu")
    finally:
        torch.set_num_threads(before)
    spawn_two("toy-masked", overrides, tmp_path / "two")
    one, _ = weights(tmp_path / "one", ("model.",))
    two, state = weights(tmp_path / "two", ("model.",))
    assert state["world_size"] == 2 and sorted(one) == sorted(two) == ["model.net.lin.bias", "model.net.lin.weight"]
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
    records = [json.loads(line) for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4] and all("masked_mse" in r for r in records)


def test_one_process_torchrun_joins_a_process_group(toys, tmp_path):
    """A one-process torchrun still runs the collective path (the GPU check's NCCL step relies on it)."""
    import os
    import shutil
    import subprocess
    import sys

    from cli_runs import HERE, cli_env

    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists():
        if shutil.which("torchrun") is None:
            pytest.skip("torchrun is not installed next to this Python")
        torchrun = Path(shutil.which("torchrun"))
    env = cli_env()
    scripts = str(Path(__file__).resolve().parents[2] / "scripts")  # scripts/gpu_check_probe.py
    env["PYTHONPATH"] = os.pathsep.join(p for p in (scripts, env.get("PYTHONPATH", "")) if p)
    env["GPU_CHECK_PROBE"] = str(tmp_path / "probe.json")
    done = subprocess.run([str(torchrun), "--nproc_per_node=1", f"--master_port={free_port()}", str(HERE / "run_cli.py"),
                           "train", "mlp-ae", "data=toy-vectors", "train.batch_size=8", "train.steps=2",
                           "train.callbacks=gpu_check_probe:Probe", "--device", "cpu",
                           "--out", str(tmp_path / "run"), "--quiet"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    probe = json.loads((tmp_path / "probe.json").read_text())
    assert probe["backend"] == "gloo" and probe["world_size"] == 1
