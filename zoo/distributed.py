"""Process groups for ``torchrun``. In a single process every collective is a no-op, so the same loop runs on one
CPU or many GPUs.

    torchrun --nproc_per_node=2 -m zoo.train --task vision                       # 2 processes, gloo on CPU
    torchrun --nproc_per_node=8 -m zoo.train --task vision trainer.device=cuda   # 8 GPUs, NCCL
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 -m zoo.train ...

``data.batch_size`` is per process: the global batch is ``batch_size * world_size * accumulate``.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


def requested() -> bool:
    """True when launched by torchrun (or another launcher) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_type: str) -> None:
    """Join the process group torchrun described: NCCL for CUDA, gloo for the CPU. Safe to call twice."""
    if not requested() or is_initialized():
        return
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend=backend, timeout=timedelta(minutes=int(os.environ.get("ZOO_DIST_TIMEOUT_MIN", 30))))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    if is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    if is_initialized():
        dist.barrier()


def broadcast_object(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (a run directory with a timestamp, say)."""
    if not is_initialized():
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def gather_objects(value: Any) -> list[Any]:
    """Every rank's ``value``, in rank order, on every rank."""
    if not is_initialized():
        return [value]
    values: list[Any] = [None] * world_size()
    dist.all_gather_object(values, value)
    return values


def exit_process(code: int) -> None:
    """Leave a distributed run without the gloo abort at interpreter exit (pytorch/pytorch#190489).

    The process group is destroyed, output flushed, and the process ends at once, before C++ static destructors run.
    """
    if not is_initialized():
        return
    try:
        dist.destroy_process_group()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
