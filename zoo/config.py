"""Run configuration: a flat YAML recipe, ``key.sub=value`` overrides, and a schema that rejects mistakes.

A recipe has nine sections (task, problem, model, data, task_args, optim, scheduler, trainer, target). ``model.args`` and ``data.args`` are
passed to the registered builder and loader, and are checked against their signatures when the run starts.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from zoo.errors import ConfigError


@dataclass
class ModelConfig:
    name: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    # Weights to start from: a catalog name (zoo checkpoints), a zoo checkpoint or run directory, or a Hugging Face
    # model directory; a head whose label set differs is re-initialised with a warning (zoo.pretrained).
    pretrained: str = ""


@dataclass
class DataConfig:
    dataset: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 64
    eval_batch_size: int | None = None  # defaults to batch_size
    num_workers: int = 0
    # Gather and augment batches on the device when the dataset is in memory and the task can (see DeviceLoader).
    device_resident: bool = True


@dataclass
class OptimConfig:
    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd only
    nesterov: bool = False  # sgd only
    betas: tuple[float, float] = (0.9, 0.999)  # adamw only
    fused: bool | None = None  # one kernel for all parameters; None: wherever every parameter allows it


@dataclass
class SchedulerConfig:
    name: Literal["constant", "cosine", "linear", "step", "onecycle"] = "cosine"
    warmup_steps: int = 0
    warmup_fraction: float = 0.0  # of all optimizer steps; used when warmup_steps is 0
    min_lr_ratio: float = 0.0  # cosine and linear end at lr * min_lr_ratio
    step_every: int = 0  # step: decay every this many optimizer steps (0: a third of the run)
    gamma: float = 0.1  # step: decay factor


@dataclass
class EarlyStoppingConfig:
    patience: int = 0  # evaluations without improvement before stopping; 0 turns it off
    min_delta: float = 0.0


@dataclass
class EmaConfig:
    decay: float = 0.0  # 0 turns EMA off; typical values 0.99 to 0.9999
    warmup: bool = True  # ramp the decay up over the first steps, as timm does


@dataclass
class TrainerConfig:
    epochs: int = 10
    max_steps: int = 0  # optimizer steps; 0 means epochs decide
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    threads: int = 0  # CPU threads for torch ops (torch.set_num_threads); 0 keeps torch's default. Small models on a
    # busy machine run many times faster with 1: each multi-threaded op otherwise waits for a second free core.
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    accumulate: int = 1  # micro-batches per optimizer step
    clip_grad_norm: float = 0.0  # 0 turns clipping off
    seed: int = 0
    eval_every: int = 0  # optimizer steps between evaluations; 0: at the end of every epoch
    checkpoint_every: int = 0  # optimizer steps between extra checkpoints; 0: only at evaluations
    keep_checkpoints: int = 2  # step checkpoints kept besides best
    log_every: int = 20  # optimizer steps between log records
    monitor: str = ""  # validation metric that picks "best"; empty: the task's default
    monitor_mode: Literal["", "max", "min"] = ""
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    ema: EmaConfig = field(default_factory=EmaConfig)
    channels_last: bool = False  # NHWC memory format for the model and 4-D batch tensors: faster CNNs
    compile: bool = False  # torch.compile the training model (the first steps are slower while it compiles)
    # Under torchrun: "ddp" replicates the model on every rank; "fsdp" shards parameters, gradients and optimizer
    # state across ranks (FSDP2), for models too large to replicate. One process trains the same either way.
    strategy: Literal["ddp", "fsdp"] = "ddp"
    # Under torchrun: seconds a collective (gradient all-reduce, evaluation reduce, checkpoint gather) waits for the
    # other ranks before the run ends with an error naming the rank, instead of torch's 30 minutes. It must exceed
    # the longest step, evaluation or checkpoint; rank 0 preparing (downloading) data first waits 24 h at most.
    collective_timeout_s: float = 600.0
    progress: bool = True
    tensorboard: bool = True  # writes event files when tensorboard is installed


@dataclass
class TargetConfig:
    """What a recipe promises: the validation metric it reaches, the threshold, and the CPU budget it is held to
    (read by scripts/bench_tasks.py, the README's model table and the slow recipe test)."""

    metric: str = ""  # a validation metric of the problem, e.g. top1
    threshold: float = 0.0
    mode: Literal["max", "min"] = "max"  # "max": the metric must reach at least the threshold
    budget_s: float = 0.0  # wall time of the whole training command on two CPU cores


@dataclass
class RunConfig:
    task: str = ""
    problem: str = ""  # the task's problem (classification, detection, ...); empty: the model's
    recipe: str = ""  # the recipe the training settings came from (configs/<task>/<model>_<dataset>), when known
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    task_args: dict[str, Any] = field(default_factory=dict)  # options of the task itself, checked by the task
    optim: OptimConfig = field(default_factory=OptimConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    # Keys zoo.fit fitted to the data and the machine, each as "old -> new (reason)"; "pinned" keeps a key as given
    # (overrides are pinned by themselves, a recipe may pin its own keys so).
    adapted: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    """Tuples become lists so that the YAML and JSON we write read back into the same config."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {str(path)!r} is a directory; give a recipe YAML file")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        byte = error.object[error.start:error.start + 1]
        raise ConfigError(f"{path} is not UTF-8 text (byte {error.start}: {byte!r}); save it as UTF-8") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path} is not valid YAML{where}: {problem}; fix the recipe's syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections (task, model, data, ...), not {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"trainer.epochs=3"`` -> (["trainer", "epochs"], 3), values parsed as YAML scalars or lists."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} must look like key.sub=value, e.g. trainer.epochs=3")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set each ``key.sub=value`` into a nested dict; the schema check happens in :func:`from_dict`."""
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"cannot set {'.'.join(path)!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return data


# Keys that moved: the old spelling fails in one line naming the new one (saved runs are read through migrate()).
RENAMED: dict[tuple[str, ...], str] = {
    ("model", "args", "checkpoint"): "model.pretrained",
    ("task_args", "pretrained"): "model.pretrained",
}


def _renamed(data: dict[str, Any]) -> list[tuple[tuple[str, ...], str, Any]]:
    found = []
    for path, new in RENAMED.items():
        node: Any = data
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            found.append((path, new, node[path[-1]]))
    return found


def check_renamed(data: dict[str, Any]) -> None:
    """Refuse keys of an older zoo, naming the key that replaced each."""
    for path, new, value in _renamed(data):
        raise ConfigError(f"{'.'.join(path)} is now {new}: set {new}={value}")


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A saved run's config with keys of an older zoo moved to where they live now."""
    for path, new, value in _renamed(data):
        node = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
        section, key = new.split(".")
        data.setdefault(section, {}).setdefault(key, value)
    return data


def from_dict(data: dict[str, Any]) -> RunConfig:
    check_renamed(data)
    return _build(RunConfig, data, "")


# The valid range of every bounded key: (lowest, highest, whether the lowest itself is allowed). Every float must also
# be finite. Checked as the config is read, so a bad value fails in one line before anything is built.
RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "data.batch_size": (1, 2**20, True),
    "data.eval_batch_size": (1, 2**20, True),
    "data.num_workers": (0, 256, True),
    "optim.lr": (0, None, True),
    "optim.weight_decay": (0, 10.0, True),
    "optim.momentum": (0, 0.9999, True),
    "optim.betas[0]": (0, 0.9999999, True),
    "optim.betas[1]": (0, 0.9999999, True),
    "scheduler.warmup_steps": (0, None, True),
    "scheduler.warmup_fraction": (0, 0.99, True),
    "scheduler.min_lr_ratio": (0, 1.0, True),
    "scheduler.step_every": (0, None, True),
    "scheduler.gamma": (0, 1.0, False),
    "trainer.epochs": (0, 1_000_000, True),
    "trainer.max_steps": (0, None, True),
    "trainer.threads": (0, 4096, True),
    "trainer.accumulate": (1, 4096, True),
    "trainer.clip_grad_norm": (0, None, True),
    "trainer.seed": (0, 2**63 - 1, True),
    "trainer.eval_every": (0, None, True),
    "trainer.checkpoint_every": (0, None, True),
    "trainer.keep_checkpoints": (1, None, True),
    "trainer.log_every": (1, None, True),
    "trainer.collective_timeout_s": (0, None, False),
    "trainer.early_stopping.patience": (0, None, True),
    "trainer.early_stopping.min_delta": (0, None, True),
    "trainer.ema.decay": (0, 0.99999999, True),
    "target.budget_s": (0, None, True),
}


def check_range(key: str, value: Any) -> None:
    """One line naming the key, the value and its valid range; floats must be finite."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}")
    bounds = RANGES.get(key)
    if bounds is None or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high, closed = bounds
    if (low is not None and (value < low or (value == low and not closed))) or (high is not None and value > high):
        below = "" if low is None else (f">= {low}" if closed else f"> {low}")
        above = "" if high is None else f"<= {high:g}" if isinstance(high, float) else f"<= {high}"
        raise ConfigError(f"{key} must be {' and '.join(p for p in (below, above) if p)}, got {value}")


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [key for key in data if key not in fields]
    if unknown:
        from zoo.errors import UnknownNameError

        where = f"in section {prefix.rstrip('.')!r}" if prefix else "at the top level of the config"
        raise ConfigError(str(UnknownNameError("config key", prefix + str(unknown[0]), [prefix + k for k in fields], where)))
    values = {}
    for name, value in data.items():
        values[name] = _coerce(hints[name], value, prefix + name)
        if isinstance(values[name], tuple):
            for i, item in enumerate(values[name]):
                check_range(f"{prefix}{name}[{i}]", item)
        else:
            check_range(prefix + name, values[name])
    return cls(**values)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value if value is not None else {}, key + ".")
    if origin in (types.UnionType, typing.Union):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
        return value
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping of names to values, got {value!r}")
        return dict(value)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        item_types = get_args(hint)
        if origin is tuple and item_types and item_types[-1] is not Ellipsis:
            if len(value) != len(item_types):
                raise ConfigError(f"{key} must have {len(item_types)} items, got {len(value)}")
            return tuple(_coerce(t, v, f"{key}[{i}]") for i, (t, v) in enumerate(zip(item_types, value)))
        item = item_types[0] if item_types else Any
        return origin(_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML reads "1e-3" as a string
            except ValueError:
                pass
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key} must be a string, got {value!r}")
    raise TypeError(f"unsupported config type {hint!r} for {key}")


def save_yaml(config: RunConfig, path: Path) -> None:
    from zoo.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))


# A resume never rewrites a run's config.yaml: each resume that changes a key appends one record here
# ({"step", "time", "changes": {key: [old, new]}}), and the run's config is config.yaml with these applied in order.
CHANGES_FILE = "changes.jsonl"


def recorded_overrides(run_dir: Path) -> list[str]:
    """The ``key=value`` overrides earlier resumes of ``run_dir`` recorded, oldest first (JSON values read as YAML)."""
    import json

    path = Path(run_dir) / CHANGES_FILE
    if not path.is_file():
        return []
    overrides = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            changes = json.loads(line)["changes"]
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{path} line {number} is not a record of changes; restore the file or remove the "
                              "line") from None
        overrides += [f"{key}={json.dumps(new)}" for key, (_old, new) in changes.items()]
    return overrides


def saved_run_config(run_dir: Path) -> dict[str, Any]:
    """A run's config as it trains now: its config.yaml (keys of an older zoo moved) with the recorded changes."""
    return apply_overrides(migrate(load_yaml(Path(run_dir) / "config.yaml")), recorded_overrides(run_dir))


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, list[Any]]:
    """``{"trainer.epochs": [3, 5]}``: every leaf key whose value differs (``adapted``, zoo.fit's notes, left out)."""
    found: dict[str, list[Any]] = {}
    for key in sorted({*old, *new}):
        if not prefix and key == "adapted":
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found |= differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found[prefix + key] = [a, b]
    return found


def record_changes(run_dir: Path, config: RunConfig, step: int) -> str:
    """Append the keys a resume at ``step`` changes to changes.jsonl; the line that says so, or "" when none."""
    import json
    import time

    changes = differences(from_dict(saved_run_config(run_dir)).to_dict(), config.to_dict())  # defaults filled in
    if not changes:
        return ""
    record = {"step": step, "time": round(time.time(), 3), "changes": changes}
    with (Path(run_dir) / CHANGES_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    said = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in changes.items())
    return f"changed on resume at step {step}: {said} (recorded in {Path(run_dir) / CHANGES_FILE}; config.yaml " \
           "keeps the run's start)"
