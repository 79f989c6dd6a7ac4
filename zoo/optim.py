"""Optimisers and learning-rate schedules, stepped once per optimizer step."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from zoo.config import OptimConfig, SchedulerConfig
from zoo.errors import ConfigError


def build_optimizer(config: OptimConfig, model: nn.Module) -> torch.optim.Optimizer:
    """AdamW or SGD; biases and normalisation weights get no weight decay, as is standard."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    possible = fusable(decay + no_decay) and not sparse_gradients(model)
    fused = possible if config.fused is None else config.fused
    if fused and not possible:
        raise ConfigError("optim.fused=true needs plain floating-point parameters on one CPU or GPU device (not "
                          "sharded ones) and dense gradients (no sparse embeddings); set optim.fused=null to use the "
                          "fused kernel only where it applies")
    if config.name == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, fused=fused)
    return torch.optim.AdamW(groups, lr=config.lr, betas=tuple(config.betas), fused=fused)


KERNEL_OPTIONS = ("fused", "foreach")


def with_own_kernel(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> dict[str, Any]:
    """A saved optimizer state whose parameter groups keep ``optimizer``'s kernel choice.

    torch's ``load_state_dict`` takes every group option from the checkpoint, so a run saved with one kernel would
    resume with it whatever ``optim.fused`` says now, and fail where that kernel cannot run (sharded parameters).
    """
    groups = [
        {**saved, **{key: own[key] for key in KERNEL_OPTIONS if key in own}}
        for saved, own in zip(state["param_groups"], optimizer.param_groups)
    ]  # a different number of groups is left to torch's own error
    return {**state, "param_groups": groups + state["param_groups"][len(groups):]}


def sparse_gradients(model: nn.Module) -> bool:
    """Embeddings with ``sparse=True`` produce sparse gradients, which no fused kernel takes."""
    return any(getattr(module, "sparse", False) is True for module in model.modules()
               if isinstance(module, (nn.Embedding, nn.EmbeddingBag)))


def fusable(parameters: list[torch.Tensor]) -> bool:
    """Fused kernels update every tensor in one call (an AdamW step of a small CNN on a CPU: 0.1 ms instead of 0.5 ms)
    but take only plain floating-point tensors on one device type that has them, so not sharded (DTensor) ones."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices as supported
    except ImportError:  # a private helper; without it, the two devices every torch release covers
        def supported() -> list[str]:
            return ["cpu", "cuda"]

    if not parameters:
        return False
    devices = {parameter.device.type for parameter in parameters}
    return (
        len(devices) == 1
        and devices.pop() in supported()
        and all(type(parameter) is nn.Parameter and parameter.is_floating_point() for parameter in parameters)
    )


def warmup_steps(config: SchedulerConfig, total_steps: int) -> int:
    return config.warmup_steps or int(config.warmup_fraction * total_steps)


def lr_factor(config: SchedulerConfig, step: int, total_steps: int) -> float:
    """The multiplier of the base learning rate after ``step`` optimizer steps."""
    warmup = warmup_steps(config, total_steps)
    if step < warmup:
        return (step + 1) / warmup
    if config.name == "constant":
        return 1.0
    if config.name == "step":
        every = config.step_every or max(total_steps // 3, 1)
        return config.gamma ** ((step - warmup) // every)
    progress = min((step - warmup) / max(total_steps - warmup, 1), 1.0)
    floor = config.min_lr_ratio
    if config.name == "linear":
        return floor + (1 - floor) * (1 - progress)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))  # cosine


def build_scheduler(
    config: SchedulerConfig, optimizer: torch.optim.Optimizer, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if config.name == "onecycle":
        max_lrs = [group["lr"] for group in optimizer.param_groups]
        pct_start = warmup_steps(config, total_steps) / max(total_steps, 1) or 0.3
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lrs, total_steps=max(total_steps, 2), pct_start=min(pct_start, 0.99)
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(config, step, total_steps))
