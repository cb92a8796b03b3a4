"""The per-process body of the 2-process tests (spawned by torch.multiprocessing)."""

import os


def train_worker(rank: int, world: int, port: int, model, overrides: list, out, resume=None) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    import torch

    torch.set_num_threads(1)
    import genreg
    import train_toys

    genreg.get_plugin_manager().register(train_toys, name=train_toys.PLUGIN_NAME)

    def dump_parameters(run, result):  # each rank's own parameters, to check that DDP kept them equal
        from safetensors.torch import save_file

        params = {f"{name}.{key}": value.detach().contiguous() for name, module in run.trainer.modules().items()
                  for key, value in module.state_dict().items()}
        save_file(params, os.path.join(str(out), f"params-rank{rank}.safetensors"))

    genreg.train(model, overrides=overrides, out=out, resume=resume, quiet=True, device="cpu",
                 callbacks={"train_end": dump_parameters})
