"""How the one training loop runs on one device, or on many processes (``torchrun``): a strategy object.

    python -m zoo.train --task vision                                              # SingleDevice
    torchrun --nproc_per_node=2 -m zoo.train --task vision                         # DDP, gloo on the CPU
    torchrun --nproc_per_node=8 -m zoo.train --task nlp trainer.strategy=fsdp trainer.device=cuda   # FSDP

As in Lightning Fabric, the single-device strategy's collectives do nothing, so the loop has no ``if distributed``:
it asks its strategy to wrap the model, to skip gradient synchronisation inside an accumulation, to gather the full
state for a checkpoint, and to put it back on resume. Nothing wraps the user's model beyond what DDP or FSDP needs.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo import checkpoint, distributed
from zoo.config import TrainerConfig
from zoo.errors import ConfigError


class SingleDevice:
    """One process: the model trains as it is, and every collective returns its input."""

    def __init__(self, device: torch.device):
        self.device = device

    def wrap(self, model: nn.Module, seed: int) -> nn.Module:
        """The module that runs the training forward pass (``model`` itself here)."""
        return model

    def no_sync(self, train_model: nn.Module) -> contextlib.AbstractContextManager:
        """Inside an accumulation, gradients stay local until the micro-batch that ends it."""
        return contextlib.nullcontext()

    def any(self, flag: bool) -> bool:
        """True when ``flag`` is true on any rank (an interrupt one rank received stops every rank at one step)."""
        return flag

    def full_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[Any, dict[str, Any]]:
        """The weights to save (a module, or a full state dict) and the optimizer state, on the main process."""
        return model, optimizer.state_dict()

    def load_state(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, path: Path, optimizer_state: dict[str, Any]
    ) -> None:
        checkpoint.load_weights(path, model, "model")
        optimizer.load_state_dict(optimizer_state)


class DDP(SingleDevice):
    """A replica per process; DistributedDataParallel averages gradients during backward."""

    def wrap(self, model: nn.Module, seed: int) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        wrapped = DistributedDataParallel(model, device_ids=ids)
        torch.manual_seed(seed + 1_000_003 * distributed.rank())  # dropout differs across ranks
        return wrapped

    def no_sync(self, train_model: nn.Module) -> contextlib.AbstractContextManager:
        inner = getattr(train_model, "_orig_mod", train_model)  # under torch.compile
        return inner.no_sync() if hasattr(inner, "no_sync") else contextlib.nullcontext()

    def any(self, flag: bool) -> bool:
        return bool(distributed.all_reduce_sum(torch.tensor([float(flag)], device=self.device)).item())


class FSDP(DDP):
    """Parameters, gradients and optimizer state sharded across processes (FSDP2); checkpoints hold the full state."""

    def wrap(self, model: nn.Module, seed: int) -> nn.Module:
        from zoo.fsdp import shard

        shard(model, self.device)  # in place: the model itself is the sharded module
        torch.manual_seed(seed + 1_000_003 * distributed.rank())
        return model

    def no_sync(self, train_model: nn.Module) -> contextlib.AbstractContextManager:
        return _fsdp_no_sync(getattr(train_model, "_orig_mod", train_model))

    def full_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[Any, dict[str, Any]]:
        from zoo.fsdp import full_model_state, full_optimizer_state

        return full_model_state(model), full_optimizer_state(model, optimizer)  # every rank takes part

    def load_state(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, path: Path, optimizer_state: dict[str, Any]
    ) -> None:
        from zoo.fsdp import load_full_state

        load_full_state(model, optimizer, checkpoint.read_weights(path), optimizer_state)


def select_strategy(config: TrainerConfig, device: torch.device) -> SingleDevice:
    """The strategy torchrun's environment and ``trainer.strategy`` ask for; one process is SingleDevice."""
    if not distributed.is_initialized():
        return SingleDevice(device)
    if config.strategy != "fsdp":
        return DDP(device)
    for name, value, fix in (("ema", config.ema.decay > 0, "trainer.ema.decay=0"),
                             ("channels_last", config.channels_last, "trainer.channels_last=false")):
        if value:
            raise ConfigError(f"trainer.{name} is not available with trainer.strategy=fsdp; set {fix} "
                              "or use trainer.strategy=ddp")
    return FSDP(device)


@contextlib.contextmanager
def _fsdp_no_sync(model: Any) -> Any:
    model.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        model.set_requires_gradient_sync(True)
