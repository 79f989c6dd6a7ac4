"""Throughput accounting: time spent waiting for data, and model FLOPs utilisation on GPUs with known peaks."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import torch

# Dense peak TFLOP/s by (device name fragment, dtype), from the vendors' data sheets (SXM parts).
_PEAK_TFLOPS = {
    ("H200", "bf16"): 989.0, ("H200", "fp16"): 989.0, ("H200", "fp32"): 67.0,
    ("H100", "bf16"): 989.0, ("H100", "fp16"): 989.0, ("H100", "fp32"): 67.0,
    ("A100", "bf16"): 312.0, ("A100", "fp16"): 312.0, ("A100", "fp32"): 19.5,
    ("L4", "bf16"): 121.0, ("L4", "fp16"): 121.0, ("L4", "fp32"): 30.3,
}


def peak_flops(device: torch.device, precision: str) -> float | None:
    """The accelerator's dense peak in FLOP/s for ``precision``, when it is a GPU we know; else None."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for (fragment, dtype), tflops in _PEAK_TFLOPS.items():
        if fragment in name and dtype == precision:
            return tflops * 1e12
    return None


class TimedIterator:
    """Wraps a loader and adds up the seconds spent waiting for each batch."""

    def __init__(self, iterable: Iterable[Any]):
        self.iterable = iterable
        self.wait = 0.0

    def __iter__(self) -> Iterator[Any]:
        iterator = iter(self.iterable)
        while True:
            start = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            self.wait += time.perf_counter() - start
            yield batch


def count_flops(step: Any) -> tuple[Any, int]:
    """Run ``step()`` under torch's FLOP counter; returns its result and the FLOPs of forward and backward."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        result = step()
    return result, counter.get_total_flops()
