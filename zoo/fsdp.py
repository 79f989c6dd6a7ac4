"""Fully sharded data parallel (FSDP2, ``torch.distributed.fsdp.fully_shard``) for ``trainer.strategy=fsdp``.

Each rank keeps a shard of the parameters, gradients and optimizer state instead of a full replica, so a model
too large to replicate per GPU still trains; parameters are gathered block by block for compute. Checkpoints stay
the same files as with DDP: the full state is gathered (all ranks take part) and rank 0 writes it, so a checkpoint
of an FSDP run loads anywhere, on one process or another world size.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def is_block(module: nn.Module, parent: nn.Module | None) -> bool:
    """A repeated block worth sharding on its own: an element of a ModuleList/Sequential holding parameters."""
    return isinstance(parent, (nn.ModuleList, nn.Sequential)) and any(True for _ in module.parameters())


def shard(model: nn.Module, device: torch.device) -> nn.Module:
    """Shard each repeated block (transformer layers, residual stages), then the rest of the model, in place."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    from zoo import distributed

    mesh = init_device_mesh(device.type, (distributed.world_size(),))
    blocks = [child for parent in model.modules() for child in parent.children() if is_block(child, parent)]
    outermost = [b for b in blocks if not any(b is not o and _contains(o, b) for o in blocks)]
    for block in outermost:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def _contains(outer: nn.Module, inner: nn.Module) -> bool:
    return any(m is inner for m in outer.modules())


def _options(**kwargs: Any) -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, **kwargs)


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The unsharded weights on the CPU (a collective: every rank calls it; rank 0 receives them)."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(model, options=_options(cpu_offload=True))


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The unsharded optimizer state keyed by parameter name (a collective)."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return get_optimizer_state_dict(model, optimizer, options=_options(cpu_offload=True))


def load_full_state(
    model: nn.Module, optimizer: torch.optim.Optimizer | None, weights: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any] | None,
) -> None:
    """Shard full weights (and optimizer state) back onto every rank (a collective)."""
    from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_optimizer_state_dict

    set_model_state_dict(model, weights, options=_options())
    if optimizer is None or optimizer_state is None:
        return
    if optimizer_state.get("state"):
        set_optimizer_state_dict(model, optimizer, optimizer_state, options=_options())
        return
    # A stateless optimizer (SGD without momentum) has only hyperparameters to restore, and torch's loader
    # cannot place an empty state on a device.
    for group, saved in zip(optimizer.param_groups, optimizer_state["param_groups"]):
        group.update({k: v for k, v in saved.items() if k != "params"})
