"""Where and how numbers are computed: device, precision, seeds, RNG state, and moving batches."""

from __future__ import annotations

import contextlib
import random
import signal
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo.errors import ConfigError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; an unavailable device is an error, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"trainer.device={name!r} is not a device; use auto, cpu, cuda or cuda:N") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("trainer.device asks for CUDA but no CUDA device is available; use trainer.device=cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{name} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


@dataclass
class Precision:
    """Autocast and loss scaling for one of fp32, bf16 (CPU and CUDA) or fp16 (CUDA, with a grad scaler)."""

    name: str
    device: torch.device

    def __post_init__(self) -> None:
        if self.name == "fp16" and self.device.type != "cuda":
            raise ConfigError("trainer.precision=fp16 needs CUDA; on the CPU use trainer.precision=bf16 or fp32")
        if self.name not in ("fp32", *_DTYPES):
            raise ConfigError(f"trainer.precision must be fp32, bf16 or fp16, got {self.name!r}")

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.name == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=_DTYPES[self.name])

    def grad_scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device.type, enabled=self.name == "fp16")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from, in a form ``torch.load(weights_only=True)`` accepts."""
    numpy_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
            "pos": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "cached_gaussian": float(numpy_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_as_tuple(state["python"]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def move_to_device(batch: Any, device: torch.device, non_blocking: bool = False, channels_last: bool = False) -> Any:
    """Tensors anywhere inside tuples, lists and dicts go to ``device``; everything else is left as it is.

    With ``channels_last``, 4-D floating tensors (image batches) are laid out NHWC to match the model.
    """
    if isinstance(batch, torch.Tensor):
        if channels_last and batch.ndim == 4 and batch.is_floating_point():
            return batch.to(device, non_blocking=non_blocking, memory_format=torch.channels_last)
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: move_to_device(v, device, non_blocking, channels_last) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to_device(v, device, non_blocking, channels_last) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch


@contextlib.contextmanager
def cpu_threads(count: int):
    """Run with ``count`` torch CPU threads (0 keeps the current number), then restore the caller's setting."""
    before = torch.get_num_threads()
    if count > 0:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run after a step, with a checkpoint written; ``exit_code`` is 130 or 143."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum, self.exit_code = signum, 128 + signum


class Interrupts:
    """Turns SIGINT (Ctrl-C) and SIGTERM (a scheduler's preemption notice) into a request the loop reads between steps.

    The first signal only sets :attr:`signum`; the handler it replaced comes back at once, so a second Ctrl-C stops
    the process immediately. Outside the main thread (a notebook's worker thread) signals are left alone.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""
