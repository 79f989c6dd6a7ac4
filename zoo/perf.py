"""Throughput accounting: time spent waiting for data, and model FLOPs utilisation on GPUs with known peaks."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
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


class Throughput:
    """The figures of one log window (mean loss, samples/s, step time, data wait, MFU) and the training time.

    Evaluation and checkpointing run inside :meth:`paused`, so they count in neither. The loss is summed on the device
    and read once per window, so logging costs no synchronisation per step.
    """

    def __init__(self, loader: Iterable[Any], device: torch.device, peak: float | None, accumulate: int):
        self.loader = TimedIterator(loader)
        self.peak, self.accumulate = peak, accumulate
        self.step_flops = 0  # forward and backward FLOPs of one micro-batch, counted once on GPUs with a known peak
        self.loss = torch.zeros((), device=device)
        self.samples = self.micro_batches = 0
        self.start = self._trained_since = time.perf_counter()

    def run(self, step: Callable[[], Any]) -> Any:
        """Run one micro-batch (``step()`` returns the task's output with ``loss`` and ``size``) and count it."""
        if self.peak and not self.step_flops:
            out, self.step_flops = count_flops(step)
        else:
            out = step()
        self.micro_batches += 1
        self.samples += out.size
        self.loss.add_(out.loss.detach(), alpha=out.size)
        return out

    def window_sums(self) -> torch.Tensor:
        """Loss sum and sample count of the window, as one float64 tensor to reduce across ranks."""
        count = torch.tensor(float(self.samples), device=self.loss.device, dtype=torch.float64)
        return torch.stack([self.loss.double(), count])

    def record(self, count: int) -> dict[str, float]:
        """The window's speed figures (``count``: its samples over all ranks), and a new window."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        record = {"samples_per_s": count / elapsed,
                  "step_time_s": elapsed / max(self.micro_batches / self.accumulate, 1e-9),
                  "data_wait_fraction": min(self.loader.wait / elapsed, 1.0)}
        if self.step_flops and self.peak:
            record["mfu"] = self.step_flops * self.micro_batches / elapsed / self.peak
        self.loss.zero_()
        self.samples = self.micro_batches = 0
        self.start, self.loader.wait = time.perf_counter(), 0.0
        return record

    @contextlib.contextmanager
    def paused(self) -> Iterator[float]:
        """Leave the training clock; yields the seconds trained since the last pause."""
        paused = time.perf_counter()
        yield paused - self._trained_since
        now = time.perf_counter()
        self.start += now - paused
        self._trained_since = now
