"""A masked autoencoder (its own loss terms, a fresh random mask per step) under DDP: two gloo processes."""

import json
import socket

import pytest
import torch
import torch.multiprocessing as mp

from genreg.training import checkpoint as ckpt

from ddp_worker import train_worker

SMALL = ["model.embed_dim=16", "model.depth=1", "model.heads=2", "model.decoder_dim=8", "model.decoder_heads=2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_train_mae1d_in_step(tmp_path):
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    overrides = ["data.n=32", "data.noise_only=0.5", "train.batch_size=16", "train.steps=3", "train.log_every=1",
                 "train.sample_every=0", *SMALL]
    mp.spawn(train_worker, args=(2, free_port(), "mae1d", overrides, str(tmp_path / "two"), None), nprocs=2,
             join=True)
    tensors, state = ckpt.load(ckpt.find(tmp_path / "two"))
    assert state["world_size"] == 2 and state["step"] == 3 and state["data"]["batch_size"] == 8
    assert "model.net.mask_token" in tensors
    from safetensors.torch import load_file

    rank0, rank1 = (load_file(str(tmp_path / "two" / f"params-rank{r}.safetensors")) for r in (0, 1))
    # each rank drew its own masks; DDP's gradient average kept the parameters identical
    assert sorted(rank0) == sorted(rank1) and all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    records = [json.loads(line) for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3] and all(r["masked_mse"] > 0 for r in records)
