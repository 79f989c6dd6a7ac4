"""Export a checkpoint to ONNX or TorchScript, and check that the export computes what PyTorch computes.

    python -m zoo export --checkpoint runs/vision/x/checkpoints/best --format onnx --out model.onnx
    python -m zoo export --checkpoint vision/resnet18.imagenet1k_v1 --format torchscript

What is exported is each task's business: its index names an export function (``TaskEntry.export``) that returns
an :class:`ExportSpec` (the module to trace, sample inputs, input and output names and which of their axes are
dynamic). This module knows no task. The check runs the exported model on a sample with another size of every
dynamic axis than the one traced (another batch size, and another sequence length where inputs have one), so a size
baked in by mistake shows up, and compares every output with PyTorch's: ONNX through onnxruntime when it is
installed (``pip install 'zoo[export]'``), TorchScript by loading the saved file back.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ExportError

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
BATCH = "batch"  # the axis every input and output has first; its sizes come from export(batch=...)


@dataclass
class ExportSpec:
    """How a task's model is exported: what a task's export function returns.

    ``inputs`` and ``outputs`` map names, in the order ``module`` takes and returns them, to their dynamic axes
    (``{dim: axis name}``); an axis shared by name is one size (the batch, a sequence length). ``sample`` makes one
    tensor per input from the sizes of all axes (``{"batch": 2, "sequence": 16}``). ``axes`` gives every dynamic axis
    but the batch two sizes: the one traced and another one the export is checked at. ``reference`` is the model as
    its task calls it, when ``module`` wraps it into a traceable form: the export is checked against it.
    ``unsupported`` maps a format this model cannot be exported to onto the one-line reason given to the user.
    """

    module: Any  # torch.nn.Module returning one tensor or a tuple of tensors: the model, or a wrapper of it
    sample: Callable[[dict[str, int]], tuple[Any, ...]]
    inputs: dict[str, dict[int, str]]
    outputs: dict[str, dict[int, str]]
    axes: dict[str, tuple[int, int]] = field(default_factory=dict)
    reference: Callable[..., Any] | None = None  # same inputs, same outputs as module; None: module itself
    unsupported: dict[str, str] = field(default_factory=dict)


@dataclass
class Exported:
    path: Path
    format: str
    max_abs_diff: float | None  # None when no runtime was available to compare with
    checked_with: str
    inputs: tuple[str, ...] = ()  # names, in the order the exported model takes them
    signature: str = ""  # inputs and outputs, names and shapes with their dynamic axes named


def load_for_export(checkpoint: str | Path) -> tuple[Any, str, str, dict[str, Any], str]:
    """The model in eval mode on the CPU, its task, its model name, its info, and a file name; from a run or a
    catalog name (whose preprocessing stands in for the info)."""
    from zoo.hub.catalog import NAME

    text = str(checkpoint)
    if NAME.match(text) and not os.path.exists(text):
        from zoo.hub.catalog import get_checkpoint
        from zoo.pretrained import build_pretrained

        entry = get_checkpoint(text)
        model = build_pretrained(entry.task, entry.model, entry.name, {})
        return model.eval(), entry.task, entry.model, dict(entry.preprocessing), f"{entry.model}.{entry.tag}"
    from zoo.api import load

    loaded = load(checkpoint, device="cpu")
    name = loaded.config.model.name
    return loaded.model.eval(), loaded.config.task, name, loaded.meta["info"], name


def export_spec(task: str, model: Any, model_name: str, info: dict[str, Any]) -> ExportSpec:
    """The problem's own description of how ``model`` is exported; its export function raises when it cannot be."""
    from zoo.registry import get_task, load_object

    entry = get_task(task)
    problem = entry.problem(entry.model(model_name).problem)
    location = problem.export
    if not location:
        raise ExportError(f"{task} {problem.name} does not support export: its models have no traceable form declared")
    return load_object(location)(model, model_name, info)


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
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    model, task, model_name, info, name = load_for_export(checkpoint)
    spec = export_spec(task, model, model_name, info)
    path = Path(out) if out is not None else Path(f"{name}{SUFFIX[format]}")
    return write_and_check(spec, format, path, batch=batch, atol=atol, rtol=rtol, seed=seed)


def write_and_check(
    spec: ExportSpec,
    format: str,  # noqa: A002
    path: Path,
    *,
    batch: int = 2,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    seed: int = 0,
) -> Exported:
    """Trace ``spec`` at ``batch`` (and the first size of its other axes), write it, and compare the file's outputs
    with PyTorch's at ``batch + 1`` (and the second sizes)."""
    import torch

    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if batch < 2:
        raise ExportError(f"batch must be at least 2 (the exporter fixes an axis traced at size 1), got {batch}")
    if format in spec.unsupported:
        raise ExportError(spec.unsupported[format])
    path.parent.mkdir(parents=True, exist_ok=True)
    traced_sizes = {BATCH: batch, **{axis: sizes[0] for axis, sizes in spec.axes.items()}}
    checked_sizes = {BATCH: batch + 1, **{axis: sizes[1] for axis, sizes in spec.axes.items()}}
    torch.manual_seed(seed)
    sample, other = spec.sample(traced_sizes), spec.sample(checked_sizes)
    with torch.no_grad():
        expected = _as_tuple((spec.module if spec.reference is None else spec.reference)(*other))
    if format == "onnx":
        _to_onnx(spec, sample, path)
        actual, checked_with = _run_onnx(path, spec, other)
    else:
        with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export, yet still deployed
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(spec.module, sample, check_trace=False)
            torch.jit.save(traced, str(path))
            with torch.no_grad():
                reloaded = torch.jit.load(str(path), map_location="cpu")
                actual, checked_with = _as_tuple(reloaded(*other)), "torch.jit.load"
    signature = f"{_describe(spec.inputs, other)} -> {_describe(spec.outputs, expected)}"
    diff = None if actual is None else _compare(path, spec, actual, expected, atol, rtol)
    return Exported(path, format, diff, checked_with, tuple(spec.inputs), signature)


def _compare(path: Path, spec: ExportSpec, actual: tuple[Any, ...], expected: tuple[Any, ...], atol: float,
             rtol: float) -> float:
    """The largest absolute difference over all outputs; a shape or a difference beyond the tolerance is an error."""
    import torch

    if len(actual) != len(expected):
        raise ExportError(f"{path}: {len(actual)} outputs, PyTorch gives {len(expected)}")
    largest = 0.0
    for name, got, want in zip(spec.outputs, actual, expected):
        got, want = torch.as_tensor(got).float(), want.float()
        if got.shape != want.shape:
            raise ExportError(f"{path}: output {name!r} has shape {tuple(got.shape)}, PyTorch's "
                              f"{tuple(want.shape)}: a size was fixed when it was traced")
        diff = float((got - want).abs().max()) if got.numel() else 0.0
        if not torch.allclose(got, want, atol=atol, rtol=rtol):
            raise ExportError(f"{path}: output {name!r} differs from PyTorch's by up to {diff:.3g} "
                              f"(atol {atol}, rtol {rtol})")
        largest = max(largest, diff)
    return largest


def _as_tuple(outputs: Any) -> tuple[Any, ...]:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _describe(names: dict[str, dict[int, str]], tensors: tuple[Any, ...]) -> str:
    """``"input_ids (batch, sequence) int64"``: each tensor's shape with its dynamic axes named."""
    parts = []
    for (name, dynamic), tensor in zip(names.items(), tensors):
        dims = ", ".join(dynamic.get(i, str(size)) for i, size in enumerate(tensor.shape))
        parts.append(f"{name} ({dims}{',' if tensor.ndim == 1 else ''}) {str(tensor.dtype).removeprefix('torch.')}")
    return ", ".join(parts)


def _to_onnx(spec: ExportSpec, sample: tuple[Any, ...], path: Path) -> None:
    """The torch.export-based exporter when onnxscript is installed (PyTorch's default), else the TorchScript one."""
    import torch

    try:
        import onnxscript  # noqa: F401 - the dynamo exporter needs it
    except ImportError:
        dynamo = False
    else:
        dynamo = True
    model = spec.module
    names = {"input_names": list(spec.inputs), "output_names": list(spec.outputs)}
    large = sum(p.numel() * p.element_size() for p in model.parameters()) > 1 << 30  # ONNX protobufs stop at 2 GiB
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message="The tensor attributes .* were assigned during export")
            warnings.filterwarnings("ignore", message="# The axis name: .* will not be used")
            if dynamo:
                dims: dict[str, Any] = {}
                shapes = tuple(
                    {dim: dims.setdefault(axis, torch.export.Dim(axis)) for dim, axis in dynamic.items()} or None
                    for dynamic in spec.inputs.values()
                )
                program = torch.onnx.export(model, sample, dynamo=True, dynamic_shapes=shapes, verbose=False, **names)
                program.save(str(path), external_data=large)
            else:
                axes = {**spec.inputs, **spec.outputs}
                torch.onnx.export(model, sample, str(path), dynamo=False, dynamic_axes=axes, **names)
    except Exception as error:  # the exporters raise many types; the user needs the cause in one line
        raise ExportError(f"PyTorch's ONNX exporter failed on this model ({_root_cause(error)}); "
                          "--format torchscript may still work") from error


def _root_cause(error: BaseException) -> str:
    """The innermost error of a chain, its first line: the exporters wrap it in pages of advice."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _run_onnx(path: Path, spec: ExportSpec, inputs: tuple[Any, ...]) -> tuple[tuple[Any, ...] | None, str]:
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
    given = dict(zip(spec.inputs, inputs))
    # An input the graph does not read (lengths of a model that ignores them) is dropped by the exporter.
    feeds = {i.name: given[i.name].numpy() for i in session.get_inputs()}
    try:
        outputs = session.run(None, feeds)
    except Exception as error:  # onnxruntime's own exception types
        sizes = ", ".join(f"{name} {tuple(tensor.shape)}" for name, tensor in given.items())
        raise ExportError(f"{path} does not run on inputs of other sizes than traced ({sizes}): the exporter fixed a "
                          f"dynamic axis ({_root_cause(error)}); --format torchscript may still work") from error
    return tuple(outputs), f"onnxruntime {onnxruntime.__version__}"
