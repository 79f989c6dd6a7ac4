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


PREPARE_TIMEOUT = timedelta(hours=24)  # rank 0 preparing data (a first download) while the others wait
_state: dict[str, Any] = {"timeout_s": 0.0, "prepare_group": None, "broken": False}


def setup(device_type: str, timeout_s: float = 600.0) -> None:
    """Join the process group torchrun described: NCCL for CUDA, gloo for the CPU. Safe to call twice.

    ``timeout_s`` bounds every collective (``trainer.collective_timeout_s``), so a hung or stopped rank ends the run
    with :class:`CollectiveTimeoutError` rather than blocking it for torch's default 30 minutes.
    """
    if not requested() or is_initialized():
        return
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank())
    _state["timeout_s"] = timeout_s
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))


def prepare_barrier() -> None:
    """A barrier with the long preparation timeout, for ranks waiting while rank 0 downloads or caches data."""
    if not is_initialized():
        return
    if _state["prepare_group"] is None:  # every rank reaches this line in the same order, as new_group requires
        _state["prepare_group"] = dist.new_group(timeout=PREPARE_TIMEOUT)
    dist.barrier(group=_state["prepare_group"])


def timed_out(error: BaseException) -> bool:
    """A collective gave up waiting for another rank (gloo and NCCL word it differently), or its peer went away."""
    text = str(error).lower()
    return is_initialized() and any(w in text for w in ("timed out", "timeout", "connection closed by peer",
                                                        "connection reset by peer"))


def timeout_message(error: BaseException) -> str:
    """One line naming this rank, what it waited for, and the key to change; marks the group unusable."""
    _state["broken"] = True
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (f"rank {rank()} of {world_size()} waited more than trainer.collective_timeout_s={_state['timeout_s']:g} "
            f"s for the other ranks, or lost one ({reason[:160]}); another rank is hung, stopped or died (see its "
            "output). If a step, evaluation or checkpoint legitimately takes longer, raise trainer.collective_timeout_s")


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
        if not _state["broken"]:  # destroying a group whose peer hung can block; the process ends either way
            dist.destroy_process_group()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
