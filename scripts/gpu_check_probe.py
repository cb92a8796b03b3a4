"""A training callback for scripts/gpu_check.py's torchrun step: at train start it writes
the process group's backend, world size and device to the file named by
$GPU_CHECK_PROBE (rank 0 only), so the check can tell that NCCL was used."""

import json
import os


class Probe:
    def on_train_start(self, run) -> None:
        if not run.dist.is_main:
            return
        import torch.distributed as dist

        backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else None
        info = {"backend": backend, "world_size": run.dist.world_size, "device": str(run.device)}
        with open(os.environ["GPU_CHECK_PROBE"], "w") as f:
            json.dump(info, f)
