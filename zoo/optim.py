"""Optimisers and learning-rate schedules, stepped once per optimizer step."""

from __future__ import annotations

import math

import torch
from torch import nn

from zoo.config import OptimConfig, SchedulerConfig


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
    if config.name == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    return torch.optim.AdamW(groups, lr=config.lr, betas=tuple(config.betas))


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
