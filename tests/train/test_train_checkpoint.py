"""Checkpoints: atomic writes, clear errors for bad ones, exact resume (in-process and after SIGKILL), SIGINT."""

import json
import random
import signal
import subprocess
import time

import pytest
import torch

import genreg
from genreg.training import checkpoint as ckpt
from genreg.training.loop import WALL_CLOCK_FIELDS

from cli_runs import cli_command, cli_env, run_cli

pytestmark = pytest.mark.usefixtures("one_thread")



def metrics_without_clock(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in WALL_CLOCK_FIELDS} for line in lines]


def assert_same_tensors(a_dir, b_dir):
    a, state_a = ckpt.load(a_dir)
    b, state_b = ckpt.load(b_dir)
    assert sorted(a) == sorted(b)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"tensors differ: {different[:5]}"
    assert state_a["step"] == state_b["step"] and state_a["data"] == state_b["data"]


# ------------------------------------------------------------------------- format and errors


def test_save_load_round_trip(tmp_path):
    tensors = {"w": torch.randn(3, 4), "step": torch.tensor(5.0), "rng": torch.get_rng_state()}
    path = ckpt.save(tmp_path / "checkpoints" / "step-00000005", tensors, {"step": 5, "note": "hi"})
    loaded, state = ckpt.load(path)
    assert state == {"step": 5, "note": "hi"}
    assert all(torch.equal(tensors[k], loaded[k]) and tensors[k].dtype == loaded[k].dtype for k in tensors)
    assert ckpt.find(tmp_path) == path
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "state.json", "tensors.safetensors"]


@pytest.fixture
def saved(tmp_path):
    return ckpt.save(tmp_path / "checkpoints" / "step-00000001", {"w": torch.arange(1000.0)}, {"step": 1})


def test_truncated_checkpoint(saved):
    data = (saved / "tensors.safetensors").read_bytes()
    (saved / "tensors.safetensors").write_bytes(data[:len(data) // 2])
    with pytest.raises(ckpt.CheckpointError, match=r"tensors\.safetensors is truncated or altered \(\d+ bytes, "
                                                   r"the manifest says \d+\)"):
        ckpt.load(saved)


def test_corrupt_checkpoint(saved):
    data = bytearray((saved / "tensors.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (saved / "tensors.safetensors").write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match=r"tensors\.safetensors is corrupt \(SHA-256"):
        ckpt.load(saved)


def test_corrupt_manifest_and_foreign_directories(saved, tmp_path):
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match=r"manifest\.json is corrupt"):
        ckpt.load(saved)
    (saved / "manifest.json").write_text(json.dumps({"format": "someone-else", "version": 1}))
    with pytest.raises(ckpt.CheckpointError, match=r"is not a genreg checkpoint"):
        ckpt.load(saved)
    (saved / "manifest.json").unlink()
    with pytest.raises(ckpt.CheckpointError, match=r"is not a complete genreg checkpoint: manifest\.json is missing"):
        ckpt.load(saved)
    stray = tmp_path / "model.pt"
    stray.write_bytes(b"\x80\x04pickle")
    with pytest.raises(ckpt.CheckpointError, match=r"is not a directory"):
        ckpt.load(stray)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ckpt.CheckpointError, match=r"holds no complete checkpoint"):
        ckpt.find(tmp_path / "empty")


def test_a_crash_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    good = ckpt.save(tmp_path / "checkpoints" / "step-00000001", {"w": torch.zeros(2)}, {"step": 1})
    real_write = ckpt._write_file

    def crash_on_state(path, data):
        if path.name == ckpt.STATE:
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(ckpt, "_write_file", crash_on_state)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(tmp_path / "checkpoints" / "step-00000002", {"w": torch.ones(2)}, {"step": 2})
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-00000001"]
    assert ckpt.find(tmp_path) == good


def test_resume_from_a_corrupt_checkpoint_is_a_one_line_cli_error(toys, tmp_path, capsys):
    from genreg.cli import main

    run_dir = tmp_path / "run"
    genreg.train("mlp-ae", overrides=["data=toy-vectors", "train.steps=2", "train.batch_size=32",
                                      "train.sample_every=0"], out=run_dir, quiet=True)
    tensors = ckpt.find(run_dir) / "tensors.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:100])
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "train.steps=4", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("genreg: error: checkpoint") and "is truncated or altered" in err


# ------------------------------------------------------------------------- exact resume


RESUME_RUN = ["data=toy-blob", "model.hidden=16", "model.depth=2", "model.ema_decay=0.5", "train.batch_size=32",
              "train.sample_every=0", "train.log_every=3", "train.checkpoint_every=2", "train.keep_checkpoints=0"]


def test_resume_in_process_is_bitwise_identical(toys, tmp_path):
    genreg.train("mlp-gan", overrides=RESUME_RUN + ["train.steps=12"], out=tmp_path / "a", quiet=True)
    genreg.train("mlp-gan", overrides=RESUME_RUN + ["train.steps=7"], out=tmp_path / "b", quiet=True)
    # from step 6: the log interval 4..6 straddles nothing, 7 is logged at the end of the short run
    result = genreg.train(overrides=["train.steps=12"], resume=tmp_path / "b" / "checkpoints" / "step-00000006",
                          quiet=True)
    assert result.step == 12 and result.steps_this_run == 6
    assert_same_tensors(tmp_path / "a" / "checkpoints" / "step-00000012", result.checkpoint)
    assert metrics_without_clock(tmp_path / "a") == metrics_without_clock(tmp_path / "b")


@pytest.mark.parametrize("model, run", [
    ("mlp-gan", RESUME_RUN),
    ("mlp-ae", ["data=toy-vectors", "train.batch_size=32", "train.sample_every=0", "train.log_every=3",
                "train.checkpoint_every=4"]),
])
def test_extending_a_finished_run_writes_the_uninterrupted_metrics(toys, tmp_path, model, run):
    """A run of 7 steps logs an early-closed line at 7 (log_every 3); extended to 12 it must
    log 9 over steps 7..9, as a 12-step run does, not keep a partial line at 7."""
    genreg.train(model, overrides=run + ["train.steps=12"], out=tmp_path / "full", quiet=True)
    genreg.train(model, overrides=run + ["train.steps=7"], out=tmp_path / "ext", quiet=True)
    assert [r["step"] for r in metrics_without_clock(tmp_path / "ext")] == [3, 6, 7]
    result = genreg.train(overrides=["train.steps=12"], resume=tmp_path / "ext", quiet=True)
    assert result.steps_this_run == 5
    assert [r["step"] for r in metrics_without_clock(tmp_path / "ext")] == [3, 6, 9, 12]
    assert metrics_without_clock(tmp_path / "full") == metrics_without_clock(tmp_path / "ext")
    assert_same_tensors(tmp_path / "full" / "checkpoints" / ckpt.checkpoint_name(12), result.checkpoint)
    # resuming a finished run with nothing left to do keeps its last line
    again = genreg.train(overrides=["train.steps=12"], resume=tmp_path / "ext", quiet=True)
    assert again.steps_this_run == 0
    assert metrics_without_clock(tmp_path / "full") == metrics_without_clock(tmp_path / "ext")


def test_resume_after_sigkill_at_a_random_step_is_bitwise_identical(toys, tmp_path):
    steps = 60
    overrides = [*RESUME_RUN, "train.keep_checkpoints=3", f"train.steps={steps}"]
    # the uninterrupted reference runs in-process (one thread, as the subprocesses): same numbers
    genreg.train("mlp-gan", overrides=overrides, out=tmp_path / "full", quiet=True)

    killed_dir = tmp_path / "killed"
    kill_after = random.Random().randrange(2, steps // 2, 2)  # a random checkpointed step
    proc = subprocess.Popen(cli_command("train", "mlp-gan", *overrides, "--quiet", "--out", str(killed_dir)),
                            env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any(s >= kill_after for s, _ in ckpt.list_checkpoints(killed_dir)):
            assert proc.poll() is None, f"the run ended before step {kill_after}: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "no checkpoint appeared in time"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    last = ckpt.list_checkpoints(killed_dir)[-1][0]
    assert last < steps, "the run finished before it was killed"

    resumed = run_cli("train", "--resume", str(killed_dir), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"to step {steps}" in resumed.stdout
    final = ckpt.checkpoint_name(steps)
    assert_same_tensors(tmp_path / "full" / "checkpoints" / final, killed_dir / "checkpoints" / final)
    assert metrics_without_clock(tmp_path / "full") == metrics_without_clock(killed_dir)


def test_sigint_stops_with_a_loadable_checkpoint(toys, tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(cli_command("train", "mlp-gan", *RESUME_RUN, "train.checkpoint_every=0",
                                        "train.steps=100000", "--out", str(run_dir), "--quiet"),
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        metrics = run_dir / "metrics.jsonl"
        while not (metrics.exists() and metrics.read_text().count("\n") >= 2):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "no metrics appeared in time"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT at step" in err
    path = ckpt.find(run_dir)
    tensors, state = ckpt.load(path)
    assert 6 <= state["step"] < 100000 and path.name == ckpt.checkpoint_name(state["step"])
    assert "generator.body.0.weight" in tensors  # the genreg.nets.mlp2d generator's first layer
