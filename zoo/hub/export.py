"""Export a checkpoint to ONNX or TorchScript, and check that the export computes what PyTorch computes.

    python -m zoo export --checkpoint runs/vision/x/checkpoints/best --format onnx --out model.onnx
    python -m zoo export --checkpoint vision/resnet18.imagenet1k_v1 --format torchscript

The check runs the exported model on a sample input of another batch size than the one traced (so a batch
dimension baked in by mistake shows up) and compares with the PyTorch model: ONNX through onnxruntime when it is
installed (``pip install 'zoo[export]'``), TorchScript by loading the saved file back.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ExportError

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


@dataclass
class Exported:
    path: Path
    format: str
    max_abs_diff: float | None  # None when no runtime was available to compare with
    checked_with: str


def _vision_sample(info: dict[str, Any], batch: int) -> tuple[Any, ...]:
    import torch

    size = int(info.get("image_size", 224))
    return (torch.randn(batch, int(info.get("channels", 3)), size, size),)


# task -> sample inputs from the checkpoint's info (or the catalog entry's preprocessing). One line per task.
SAMPLE_INPUTS: dict[str, Callable[[dict[str, Any], int], tuple[Any, ...]]] = {
    "vision": _vision_sample,
}


def load_for_export(checkpoint: str | Path) -> tuple[Any, str, dict[str, Any], str]:
    """The model in eval mode on the CPU, its task, its info, and a short name; from a run or a catalog name."""
    from zoo.hub.catalog import NAME

    text = str(checkpoint)
    if NAME.match(text) and not os.path.exists(text):
        from zoo.hub.catalog import get_checkpoint
        from zoo.hub.pretrained import build_pretrained

        entry = get_checkpoint(text)
        model = build_pretrained(entry.task, entry.model, entry.name, {})
        return model.eval(), entry.task, dict(entry.preprocessing), f"{entry.model}.{entry.tag}"
    from zoo.api import load

    loaded = load(checkpoint, device="cpu")
    return loaded.model.eval(), loaded.config.task, loaded.meta["info"], loaded.config.model.name


def export(
    checkpoint: str | Path,
    format: str = "onnx",  # noqa: A002 - the command's word
    out: str | Path | None = None,
    *,
    batch: int = 2,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    seed: int = 0,
) -> Exported:
    """Write the export and compare its outputs with PyTorch's; a difference beyond the tolerance is an error."""
    import torch

    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    model, task, info, name = load_for_export(checkpoint)
    if task not in SAMPLE_INPUTS:
        raise ExportError(f"no sample input is defined for task {task!r}; add one to zoo.hub.export.SAMPLE_INPUTS")
    path = Path(out) if out is not None else Path(f"{name}{SUFFIX[format]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    sample, other = SAMPLE_INPUTS[task](info, batch), SAMPLE_INPUTS[task](info, batch + 1)
    with torch.no_grad():
        expected = model(*other)
    if format == "onnx":
        _to_onnx(model, sample, path)
        actual, checked_with = _run_onnx(path, other)
    else:
        with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export, yet still deployed
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(model, sample, check_trace=False)
            torch.jit.save(traced, str(path))
            with torch.no_grad():
                actual, checked_with = torch.jit.load(str(path), map_location="cpu")(*other), "torch.jit.load"
    if actual is None:
        return Exported(path, format, None, checked_with)
    actual = torch.as_tensor(actual)
    if actual.shape != expected.shape:
        raise ExportError(f"{path}: output shape {tuple(actual.shape)} differs from PyTorch's {tuple(expected.shape)}")
    diff = float((actual.float() - expected.float()).abs().max())
    if not torch.allclose(actual.float(), expected.float(), atol=atol, rtol=rtol):
        raise ExportError(f"{path}: outputs differ from PyTorch's by up to {diff:.3g} (atol {atol}, rtol {rtol})")
    return Exported(path, format, diff, checked_with)


def _to_onnx(model: Any, sample: tuple[Any, ...], path: Path) -> None:
    """The torch.export-based exporter when onnxscript is installed (PyTorch's default), else the TorchScript one."""
    import torch

    try:
        import onnxscript  # noqa: F401 - the dynamo exporter needs it
    except ImportError:
        dynamo = False
    else:
        dynamo = True
    names = {"input_names": [f"input{i}" if i else "input" for i in range(len(sample))], "output_names": ["output"]}
    large = sum(p.numel() * p.element_size() for p in model.parameters()) > 1 << 30  # ONNX protobufs stop at 2 GiB
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            if dynamo:
                batch = torch.export.Dim("batch")
                shapes = tuple({0: batch} for _ in sample)
                program = torch.onnx.export(model, sample, dynamo=True, dynamic_shapes=shapes, verbose=False, **names)
                program.save(str(path), external_data=large)
            else:
                axes = {name: {0: "batch"} for name in [*names["input_names"], "output"]}
                torch.onnx.export(model, sample, str(path), dynamo=False, dynamic_axes=axes, **names)
    except Exception as error:  # the exporters raise many types; the user needs the cause in one line
        raise ExportError(f"ONNX export of {type(model).__name__} failed: {type(error).__name__}: {error}") from error


def _run_onnx(path: Path, inputs: tuple[Any, ...]) -> tuple[Any, str]:
    try:
        import onnxruntime
    except ImportError:
        try:
            import onnx

            onnx.checker.check_model(str(path))
            return None, "onnx.checker only (pip install onnxruntime to compare outputs)"
        except ImportError:
            return None, "not checked (pip install 'zoo[export]' for onnx and onnxruntime)"
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs)}
    return session.run(None, feeds)[0], f"onnxruntime {onnxruntime.__version__}"
