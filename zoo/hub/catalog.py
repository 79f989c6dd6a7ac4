"""The checkpoint catalog: which pretrained weights exist, where to get them, and what they reached.

A catalog is a JSON file (``zoo-catalog/1``) of entries named ``task/model.tag``. The built-in one
(``zoo/hub/builtin_catalog.json``) is generated from upstream libraries' own metadata by
``scripts/build_catalog.py``; teams add theirs with ``ZOO_CATALOG`` (paths or URLs, comma-separated) or
:func:`add_catalog` (``--catalog`` on the command line). A later catalog's entry replaces an earlier one of the same
name. Reading a catalog never imports torch, so ``zoo checkpoints`` and ``zoo.list_models(pretrained=True)`` stay light.

>>> from zoo.hub import catalog
>>> entry = catalog.get_checkpoint("vision/resnet18.imagenet1k_v1")
>>> entry.builder_args
{'num_classes': 1000, 'small_input': False}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from zoo.errors import CatalogError, UnknownNameError

FORMAT = "zoo-catalog/1"
BUILTIN = Path(__file__).resolve().parent / "builtin_catalog.json"
WEIGHT_FORMATS = ("safetensors", "pth")  # "pth": a pickled state dict, read with torch.load(weights_only=True)
# A Hugging Face repository snapshot (config, tokenizer files, weights) in a folder named ``file_name``; its builder
# reads the folder itself (``builder_args`` name the entry), so it has no single weights file to load.
SNAPSHOT = "hf"
FORMATS = (*WEIGHT_FORMATS, SNAPSHOT)
ARCHIVES = ("", "zip", "tar", "tar.gz")
# How a download is checked: "sha256" against the catalog's digest (or published prefix); "weights" for upstream files
# whose publisher gives no hash: the file must load as weights, and the sha256 of the first download is pinned.
VERIFY = ("sha256", "weights")
NAME = re.compile(r"^(?P<task>[a-z0-9_]+)/(?P<model>[A-Za-z0-9_]+)\.(?P<tag>[A-Za-z0-9_\-]+)$")

_extra: list[str] = []
_fetched: dict[str, str] = {}  # URL catalogs already read by this process


@dataclass(frozen=True)
class Metric:
    """A number a checkpoint reached: ``top1`` 0.6976 on ``imagenet-1k`` ``val``."""

    dataset: str
    split: str
    metric: str
    value: float


@dataclass(frozen=True)
class CheckpointEntry:
    """One downloadable checkpoint, with everything needed to fetch, verify, build and describe it."""

    name: str  # task/model.tag
    file_name: str  # name in the cache and in a mirror: <task>/<model>.<tag>/<file_name>
    sources: tuple[str, ...]  # https://..., hf://owner/repo[@rev]/path, a path or directory (relative: to the catalog)
    format: str  # safetensors | pth | hf (a repository snapshot: file_name is a folder)
    sha256: str = ""  # full hex digest; empty when the publisher gave only a prefix
    sha256_prefix: str = ""  # checked when sha256 is unknown (as torchvision checks its file names)
    verify: str = "sha256"  # "weights": upstream publishes no hash (see VERIFY); needs neither sha256 nor a prefix
    size: int = 0  # bytes; 0 when unknown
    archive: str = ""  # "", zip, tar or tar.gz: the file is an archive holding ``member``
    member: str = ""
    builder_args: dict[str, Any] = field(default_factory=dict)  # make the registered builder fit the weights
    head: tuple[str, ...] = ()  # key prefixes of the classifier head, re-initialised when the class count differs
    # Key prefixes of the input convolution: a model built for another input channel count gets these filters
    # summed over the channels (one channel) or repeated and rescaled (several), as timm's adapt_input_conv does.
    first_conv: tuple[str, ...] = ()
    # (regex, replacement) pairs applied to the file's keys before loading, for files saved under older module names.
    renames: tuple[tuple[str, str], ...] = ()
    params: int = 0
    metrics: tuple[Metric, ...] = ()
    preprocessing: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    license: str = ""
    recipe: str = ""  # how it was trained: a recipe name or a URL
    config: dict[str, Any] = field(default_factory=dict)  # the resolved run config, for zoo-trained checkpoints
    library: str = ""  # the library and version whose metadata it came from, or "zoo X.Y"
    zoo_version: str = ""
    default: bool = False  # the tag ``pretrained=True`` picks
    description: str = ""
    origin: str = field(default="", compare=False)  # where the catalog was read; relative sources resolve against it

    @property
    def task(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def model(self) -> str:
        return self.name.split("/", 1)[1].split(".", 1)[0]

    @property
    def tag(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def relpath(self) -> str:
        """The file's place in the cache, in a mirror and in a published folder."""
        return f"{self.task}/{self.model}.{self.tag}/{self.file_name}"

    @property
    def hash_check(self) -> str:
        """What a download is checked against, in a few words for listings."""
        if self.verify == "weights":
            return "no published hash: loads as weights, sha256 pinned"
        return "sha256" if self.sha256 else "sha256 prefix"

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("origin")
        data["metrics"] = [dataclasses.asdict(m) for m in self.metrics]
        data["sources"], data["head"], data["labels"] = list(self.sources), list(self.head), list(self.labels)
        data["first_conv"], data["renames"] = list(self.first_conv), [list(pair) for pair in self.renames]
        defaults = {f.name: _default(f) for f in dataclasses.fields(self)}
        return {k: v for k, v in data.items() if v != defaults.get(k, object()) or k in _REQUIRED}


_REQUIRED = ("name", "file_name", "sources", "format")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is dataclasses.MISSING:
        return dataclasses.MISSING
    value = f.default_factory()
    return list(value) if isinstance(value, tuple) else value


def entry_from_json(
    data: dict[str, Any], origin: str = "", label_sets: dict[str, list[str]] | None = None
) -> CheckpointEntry:
    """Check one catalog entry against the schema; unknown keys are an error, not silently ignored."""
    fields = {f.name for f in dataclasses.fields(CheckpointEntry)} - {"origin"}
    where = f"in catalog {origin or BUILTIN}"
    unknown = [key for key in data if key not in fields]
    if unknown:
        where = f"{where} ({data.get('name')})"
        raise CatalogError(str(UnknownNameError("entry key", unknown[0], fields, where=where)))
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise CatalogError(f"entry {data.get('name', '?')!r} {where} lacks {', '.join(missing)}")
    name = data["name"]
    if not NAME.match(name):
        raise CatalogError(f"checkpoint name {name!r} {where} is not task/model.tag (vision/resnet18.imagenet1k_v1)")
    values = dict(data)
    labels = values.get("labels", [])
    if isinstance(labels, str):  # a shared label set, e.g. "imagenet-1k"
        if labels not in (label_sets or {}):
            raise CatalogError(f"{name} {where} names label set {labels!r}, which the catalog does not define")
        labels = (label_sets or {})[labels]
    values["labels"] = tuple(labels)
    values["sources"] = tuple(values["sources"])
    values["head"] = tuple(values.get("head", ()))
    values["first_conv"] = tuple(values.get("first_conv", ()))
    values["renames"] = tuple(tuple(pair) for pair in values.get("renames", ()))
    values["metrics"] = tuple(Metric(**m) for m in values.get("metrics", ()))
    entry = CheckpointEntry(**values, origin=origin)
    _check(entry, where)
    return entry


def _check(entry: CheckpointEntry, where: str) -> None:
    problems = []
    if entry.format not in FORMATS:
        problems.append(f"format {entry.format!r} is not one of {', '.join(FORMATS)}")
    elif entry.format == SNAPSHOT and (entry.verify != "weights" or entry.archive):
        problems.append("format 'hf' (a repository snapshot) needs verify: weights and no archive: each weights "
                        "file must load without running code, and the sha256 of every file is pinned")
    if entry.archive not in ARCHIVES or bool(entry.archive) != bool(entry.member):
        problems.append("archive must be zip, tar or tar.gz and come with member (the weights file inside)")
    if entry.verify not in VERIFY:
        problems.append(f"verify {entry.verify!r} is not one of {', '.join(VERIFY)}")
    elif entry.verify == "weights":
        if entry.sha256 or entry.sha256_prefix:
            problems.append("verify 'weights' is for files without a published hash: drop sha256/sha256_prefix, "
                            "or remove verify so that the hash is checked")
        if entry.archive:
            problems.append("verify 'weights' needs the weights file itself, not an archive")
    elif not re.fullmatch(r"[0-9a-f]{64}", entry.sha256) and not re.fullmatch(r"[0-9a-f]{8,63}", entry.sha256_prefix):
        problems.append("it needs sha256 (64 hex digits) or, when only that is published, sha256_prefix (8+); "
                        "for an upstream file whose publisher gives no hash, verify: weights")
    if not entry.sources:
        problems.append("it has no sources")
    member = PurePosixPath(entry.member.replace("\\", "/"))
    if entry.member and (member.is_absolute() or any(part in ("", ".", "..") for part in entry.member.split("/"))
                         or "\\" in entry.member or ":" in member.parts[0]):
        problems.append(f"member {entry.member!r} must be a relative path inside the archive (no '..', '.', "
                        "absolute path, drive or backslash)")
    if "/" in entry.file_name or "\\" in entry.file_name or entry.file_name in ("", ".", ".."):
        problems.append(f"file_name {entry.file_name!r} must be a plain file name")
    for pair in entry.renames:
        try:
            valid = len(pair) == 2 and all(isinstance(p, str) for p in pair) and re.compile(pair[0]) is not None
        except re.error:
            valid = False
        if not valid:
            problems.append(f"renames holds {list(pair)!r}, not a [regular expression, replacement] pair")
    if problems:
        raise CatalogError(f"entry {entry.name!r} {where}: " + "; ".join(problems))


def read_catalog(location: str | Path) -> list[CheckpointEntry]:
    """Entries of one catalog file or URL, in file order."""
    location = str(location)
    text, origin = _read_text(location)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogError(f"catalog {location} is not valid JSON: {error}") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CatalogError(f"catalog {location} is not a {FORMAT} file (its 'format' key must be {FORMAT!r})")
    entries = [entry_from_json(e, origin, data.get("label_sets")) for e in data.get("checkpoints", [])]
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CatalogError(f"catalog {location} lists {', '.join(twice)} twice")
    return entries


def _read_text(location: str) -> tuple[str, str]:
    """A catalog's text and its origin; URLs are cached so that an offline machine keeps the last copy."""
    if not location.startswith(("http://", "https://")):
        path = Path(location).expanduser()
        if not path.is_file():
            raise CatalogError(f"catalog {location} does not exist (set by ZOO_CATALOG or --catalog)")
        return path.read_text(), str(path.resolve().parent) if path != BUILTIN else ""
    import urllib.parse
    import urllib.request

    from zoo.hub.settings import offline
    from zoo.io import atomic_write_text
    from zoo.paths import cache_dir

    origin = urllib.parse.urljoin(location, ".")
    if location in _fetched:
        return _fetched[location], origin
    copy = cache_dir() / "catalogs" / (hashlib.sha256(location.encode()).hexdigest()[:16] + ".json")
    if not offline():
        try:
            with urllib.request.urlopen(location, timeout=10) as response:
                text = response.read().decode()
        except OSError as error:
            if not copy.is_file():
                raise CatalogError(f"catalog {location} is unreachable ({error}) and no copy is cached") from error
        else:
            try:
                atomic_write_text(copy, text)  # the copy an offline machine falls back on
            except OSError:  # a read-only ZOO_HOME: this process still reads the catalog it fetched
                pass
            _fetched[location] = text
            return text, origin
    if not copy.is_file():
        raise CatalogError(f"catalog {location} is not cached and ZOO_OFFLINE=1 forbids fetching it")
    return copy.read_text(), origin


def add_catalog(location: str | Path) -> None:
    """Read ``location`` (a file or URL) after the built-in catalog and ``ZOO_CATALOG`` in this process."""
    if str(location) not in _extra:
        _extra.append(str(location))


def catalog_locations() -> list[str]:
    env = [part.strip() for part in os.environ.get("ZOO_CATALOG", "").split(",") if part.strip()]
    return [str(BUILTIN), *env, *_extra]


def load_entries() -> dict[str, CheckpointEntry]:
    """Every entry of every catalog by name; a later catalog replaces an earlier entry of the same name."""
    table: dict[str, CheckpointEntry] = {}
    for location in catalog_locations():
        for entry in read_catalog(location):
            table[entry.name] = entry
    return table


def list_checkpoints(task: str | None = None, model: str | None = None) -> list[CheckpointEntry]:
    """Catalog entries, optionally of one task and one model, in catalog order (a table in a notebook)."""
    from zoo.table import Table, human

    entries = [
        e for e in load_entries().values() if (task is None or e.task == task) and (model is None or e.model == model)
    ]
    return Table(entries, [
        ("checkpoint", lambda e: e.name + (" *" if e.default else "")),
        ("params", lambda e: human(e.params)),
        ("metric", lambda e: next((f"{m.metric} {m.value:.4f} ({m.dataset})" for m in e.metrics), None)),
        ("size", lambda e: human(e.size) + "B" if e.size else None),
        ("licence", lambda e: e.license if len(e.license) <= 48 else e.license[:47] + "…"),
        ("check", lambda e: e.hash_check),
    ])


def get_checkpoint(name: str) -> CheckpointEntry:
    """The entry called ``task/model.tag``; unknown names list the close ones."""
    entries = load_entries()
    if name not in entries:
        raise _unknown_checkpoint(name, entries)
    return entries[name]


def _unknown_checkpoint(name: str, entries: dict[str, CheckpointEntry]) -> UnknownNameError:
    """The close names only (a catalog holds dozens), and where the full list is."""
    import difflib

    error = UnknownNameError("checkpoint", name, entries)
    close = difflib.get_close_matches(name, sorted(entries), n=5, cutoff=0.6)
    same_model = sorted(n for n in entries if n.split(".", 1)[0] == name.split(".", 1)[0] and n not in close)
    close = [*close, *same_model][:5]
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    error.args = (f"unknown checkpoint {name!r}.{hint} `python -m zoo checkpoints [TASK] [--model M]` lists the "
                  f"{len(entries)} checkpoints of the catalogs",)
    return error


def default_checkpoint(task: str, model: str) -> CheckpointEntry:
    """What ``pretrained=True`` loads: the entry marked default (a later catalog's wins), else the model's first."""
    entries = list_checkpoints(task, model)
    if not entries:
        others = sorted({e.model for e in list_checkpoints(task)})
        raise CatalogError(
            f"no pretrained checkpoint for {task}/{model} in the catalogs ({', '.join(catalog_locations())}); "
            f"models with checkpoints in {task}: {', '.join(others) or '(none)'}. "
            "Train one and publish it (python -m zoo publish), or add a catalog with ZOO_CATALOG"
        )
    marked = [e for e in entries if e.default]
    return marked[-1] if marked else entries[0]


def resolve_pretrained(task: str, model: str, pretrained: bool | str) -> CheckpointEntry:
    """The entry for ``pretrained=True`` (the default tag), a tag such as ``"imagenet1k_v1"``, or a full name."""
    if pretrained is True:
        return default_checkpoint(task, model)
    if not isinstance(pretrained, str) or not pretrained:
        raise CatalogError(f"pretrained must be True or a tag such as 'imagenet1k_v1', got {pretrained!r}")
    name = pretrained if "/" in pretrained else f"{task}/{model}.{pretrained}"
    entries = load_entries()
    if name not in entries:
        tags = [e.tag for e in entries.values() if e.task == task and e.model == model]
        raise UnknownNameError("pretrained tag", pretrained, tags, where=f"for {task}/{model}")
    entry = entries[name]
    if (entry.task, entry.model) != (task, model):
        raise CatalogError(f"checkpoint {name} is for {entry.task}/{entry.model}, not {task}/{model}")
    return entry


def checkpoints_by_model() -> dict[tuple[str, str], tuple[str, ...]]:
    """Checkpoint names of each (task, model), for ``list_models(pretrained=True)``."""
    table: dict[tuple[str, str], tuple[str, ...]] = {}
    for entry in load_entries().values():
        table[entry.task, entry.model] = (*table.get((entry.task, entry.model), ()), entry.name)
    return table


def write_catalog(path: Path, entries: list[CheckpointEntry], extra: dict[str, Any] | None = None) -> None:
    """Write a catalog file (atomically), merging into an existing one so a folder can host many checkpoints."""
    from zoo.io import atomic_write_json

    existing: dict[str, dict[str, Any]] = {}
    label_sets: dict[str, list[str]] = {}
    if path.is_file():
        data = json.loads(path.read_text())
        label_sets = data.get("label_sets", {})
        existing = {e["name"]: e for e in data.get("checkpoints", [])}
    for entry in entries:
        existing[entry.name] = entry.to_json()
    body: dict[str, Any] = {"format": FORMAT, **(extra or {})}
    if label_sets:
        body["label_sets"] = label_sets
    body["checkpoints"] = list(existing.values())
    atomic_write_json(path, body)
