"""Text-classification datasets: the embedded sentiment corpus, Hugging Face hub datasets and local files.

Every loader returns a :class:`TextSplit` (texts, integer labels, class names). Hub datasets are read with
``datasets.load_dataset`` from its cache; ``download=true`` lets it fetch them first. Local files (CSV, TSV, JSON,
JSON Lines, Parquet) go through ``datasets``' own readers, with the text and label columns named in ``data.args``.

    python -m zoo.train --task nlp --model bert_mini --dataset sst2 data.args.download=true
    python -m zoo.train --task nlp --model fasttext --dataset text_files data.args.train=reviews.csv
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, DatasetNotFoundError, root_cause
from zoo.nlp import corpus


@dataclass
class TextSplit:
    """One split: ``texts[i]`` has label ``labels[i]``, an index into ``classes``."""

    texts: list[str]
    labels: list[int]
    classes: list[str]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        bad = [label for label in self.labels if not 0 <= label < len(self.classes)]
        if bad:
            raise ConfigError(f"label {bad[0]} is outside the {len(self.classes)} classes {self.classes}")


# --- embedded ------------------------------------------------------------------------------------------------------


def sentiment(
    split: str,
    root: str | None = None,
    download: bool = False,
    num_train: int = corpus.NUM_TRAIN,
    num_val: int = corpus.NUM_VAL,
    seed: int = 0,
) -> TextSplit:
    """The generated review corpus (see :mod:`zoo.nlp.corpus`); ``root`` and ``download`` are unused."""
    texts, labels = corpus.split_texts(split, num_train, num_val, seed)
    return TextSplit(list(texts), list(labels), list(corpus.CLASSES))


# --- Hugging Face hub datasets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubSpec:
    """Where a hub dataset lives and how its columns and splits map onto the zoo's."""

    repo: str
    config: str | None
    text_column: str
    label_column: str
    splits: dict[str, str]  # zoo split -> upstream split
    classes: tuple[str, ...]
    size: str  # download size, for the error message


_BINARY = ("negative", "positive")
HUB: dict[str, HubSpec] = {
    "imdb": HubSpec("stanfordnlp/imdb", None, "text", "label", {"train": "train", "val": "test", "test": "test"},
                    _BINARY, "about 84 MB"),
    "sst2": HubSpec("nyu-mll/glue", "sst2", "sentence", "label", {"train": "train", "val": "validation"},
                    _BINARY, "about 5 MB"),
    "ag_news": HubSpec("fancyzhx/ag_news", None, "text", "label", {"train": "train", "val": "test", "test": "test"},
                       ("World", "Sports", "Business", "Sci/Tech"), "about 19 MB"),
    "yelp_polarity": HubSpec("fancyzhx/yelp_polarity", None, "text", "label",
                             {"train": "train", "val": "test", "test": "test"}, _BINARY, "about 166 MB"),
    "rotten_tomatoes": HubSpec("cornell-movie-review-data/rotten_tomatoes", None, "text", "label",
                               {"train": "train", "val": "validation", "test": "test"}, _BINARY, "about 0.7 MB"),
}


@contextlib.contextmanager
def _hub_offline(offline: bool) -> Iterator[None]:
    """Keep ``datasets`` from reaching the hub (it then reads only its cache), as ``HF_HUB_OFFLINE=1`` would."""
    import datasets.config

    saved = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = saved or offline
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE = saved


def load_hub(name: str, split: str, root: str | None = None, download: bool = False) -> TextSplit:
    """A split of a registered hub dataset from the ``datasets`` cache (``root``, else ``HF_DATASETS_CACHE``)."""
    import datasets

    spec = HUB[name]
    if split not in spec.splits:
        raise ConfigError(f"unknown split {split!r} for dataset {name!r}. Valid splits: {', '.join(spec.splits)}.")
    if root is not None and _tsv_folder(Path(root).expanduser(), name) is not None:
        return read_glue(name, split, _tsv_folder(Path(root).expanduser(), name))  # type: ignore[arg-type]
    cache = str(Path(root).expanduser()) if root is not None else None
    try:
        with _hub_offline(not download):
            table = datasets.load_dataset(spec.repo, spec.config, split=spec.splits[split], cache_dir=cache)
    except (ConnectionError, FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        raise DatasetNotFoundError(_hub_missing(name, spec, cache, download, error)) from error
    texts, labels = _columns(table, spec.text_column, spec.label_column, name)
    feature = table.features.get(spec.label_column)
    upstream = list(getattr(feature, "names", None) or [])
    if upstream and len(upstream) != len(spec.classes):
        raise ConfigError(f"{spec.repo} has classes {upstream}, expected {len(spec.classes)}: {list(spec.classes)}")
    if any(not isinstance(label, int) or label < 0 for label in labels):
        raise ConfigError(f"split {split!r} of {spec.repo} has missing labels (-1); it cannot be used for training")
    return TextSplit(texts, labels, list(spec.classes))


# GLUE as distributed by its authors (gluebenchmark.com): DIR/train.tsv and DIR/dev.tsv with a header row, no quoting;
# test.tsv has no labels.
GLUE = {"sst2": ("SST-2", "sentence", "label")}


def _tsv_folder(root: Path, name: str) -> Path | None:
    """The folder holding GLUE's ``train.tsv``: ``root`` itself or its task folder (``root/SST-2``); None when
    ``root`` holds no TSV files. TSV files under a name that is not a GLUE task are an error naming text_files."""
    folders = [root, root / GLUE[name][0]] if name in GLUE else [root]
    found = next((f for f in folders if (f / "train.tsv").is_file() or (f / "dev.tsv").is_file()), None)
    if found is not None and name not in GLUE:
        raise ConfigError(f"{found} holds TSV files, which dataset {name!r} does not read (it reads the Hugging Face "
                          f"cache); use --dataset text_files data.args.train={found / 'train.tsv'} "
                          f"data.args.val={found / 'dev.tsv'}")
    return found


def read_glue(name: str, split: str, folder: Path) -> TextSplit:
    """A GLUE task's ``train.tsv`` (train) or ``dev.tsv`` (val) in the original TSV format."""
    import csv

    _, text_column, label_column = GLUE[name]
    if split == "test":
        raise ConfigError(f"GLUE's {folder / 'test.tsv'} has no labels (its scores come from the GLUE server); "
                          "evaluate on --split val (dev.tsv)")
    path = folder / ("train.tsv" if split == "train" else "dev.tsv")
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist: GLUE's {GLUE[name][0]} folder holds train.tsv and dev.tsv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = rows[0] if rows else [], rows[1:]
    if text_column not in header or label_column not in header:
        raise ConfigError(f"{path} has columns {header}, not GLUE's {text_column!r} and {label_column!r}; "
                          "for other TSV files use --dataset text_files")
    t, y = header.index(text_column), header.index(label_column)
    classes = list(HUB[name].classes)
    texts, labels = [], []
    for number, row in enumerate(body, start=2):
        if not row:
            continue
        if len(row) != len(header) or row[y] not in {str(i) for i in range(len(classes))}:
            raise ConfigError(f"{path} line {number} is not a GLUE row of {len(header)} tab-separated fields with "
                              f"label 0-{len(classes) - 1}: {row!r}")
        texts.append(row[t].strip())
        labels.append(int(row[y]))
    return TextSplit(texts, labels, classes)


def _hub_missing(name: str, spec: HubSpec, cache: str | None, download: bool, error: Exception) -> str:
    import datasets.config

    where = cache or datasets.config.HF_DATASETS_CACHE
    config = f", {spec.config!r}" if spec.config else ""
    offline = datasets.config.HF_HUB_OFFLINE
    if download and not offline:
        cause = "is not in the datasets cache and the Hugging Face Hub could not be reached"
    elif download:
        cause = "is not in the datasets cache and HF_HUB_OFFLINE (or HF_DATASETS_OFFLINE) forbids downloading it"
    else:
        cause = "is not in the datasets cache"
    return (
        f"dataset {name!r} ({spec.repo}{config}) {cause} ({where}; {type(error).__name__}: {error}). "
        f"{'Check the network (data.args.download=true is set)' if download else 'Set data.args.download=true'} "
        f"to fetch it ({spec.size}), or where there is a network run "
        f"`python -c \"import datasets; datasets.load_dataset('{spec.repo}'{config})\"` and copy that cache to "
        f"{where} (or point data.args.root or HF_DATASETS_CACHE at it)."
        + (" GLUE's own TSV files are read from data.args.root=DIR (DIR/train.tsv, DIR/dev.tsv)." if name in GLUE
           else " Files of your own: --dataset text_files.")
    )


def _columns(table: Any, text_column: str, label_column: str, name: str) -> tuple[list[str], list[Any]]:
    columns = list(table.column_names)
    for kind, column in (("text", text_column), ("label", label_column)):
        if column not in columns:
            raise ConfigError(
                f"{name} has no {kind} column {column!r}; its columns are {', '.join(columns)}. "
                f"Set data.args.{kind}_column to one of them."
            )
    texts = list(table[text_column])
    missing = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if missing:
        raise ConfigError(f"{name}: row {missing[0]} has no text in column {text_column!r} ({texts[missing[0]]!r})")
    labels = list(table[label_column])
    repeated = [i for i, (text, label) in enumerate(zip(texts, labels)) if text == text_column
                and str(label) == label_column]
    if repeated:
        raise ConfigError(f"{name}: {len(repeated)} row(s) repeat the header ({text_column!r}, {label_column!r}), the "
                          f"first at row {repeated[0] + 1}: files joined with their headers? Delete those rows")
    return texts, labels


def imdb(split: str, root: str | None = None, download: bool = False) -> TextSplit:
    """IMDB movie reviews (stanfordnlp/imdb): 25,000 train, 25,000 test (the zoo's val), 2 classes."""
    return load_hub("imdb", split, root, download)


def sst2(split: str, root: str | None = None, download: bool = False) -> TextSplit:
    """GLUE SST-2 sentences (nyu-mll/glue, sst2): 67,349 train, 872 validation, 2 classes (test has no labels)."""
    return load_hub("sst2", split, root, download)


def ag_news(split: str, root: str | None = None, download: bool = False) -> TextSplit:
    """AG News topics (fancyzhx/ag_news): 120,000 train, 7,600 test (the zoo's val), 4 classes."""
    return load_hub("ag_news", split, root, download)


def yelp_polarity(split: str, root: str | None = None, download: bool = False) -> TextSplit:
    """Yelp review polarity (fancyzhx/yelp_polarity): 560,000 train, 38,000 test (the zoo's val), 2 classes."""
    return load_hub("yelp_polarity", split, root, download)


def rotten_tomatoes(split: str, root: str | None = None, download: bool = False) -> TextSplit:
    """Rotten Tomatoes snippets (cornell-movie-review-data/rotten_tomatoes): 8,530 / 1,066 / 1,066, 2 classes."""
    return load_hub("rotten_tomatoes", split, root, download)


# --- local files ------------------------------------------------------------------------------------------------------

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "json", ".ndjson": "json",
           ".parquet": "parquet", ".pq": "parquet"}
_VAL_NAMES = ("val", "valid", "validation", "dev", "test")


def text_files(
    split: str,
    root: str | None = None,
    download: bool = False,
    train: str | None = None,
    val: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    label_names: list[str] | None = None,
    format: str | None = None,  # noqa: A002 - the name users know
    val_fraction: float = 0.1,
    seed: int = 0,
) -> TextSplit:
    """Your own labelled texts: CSV, TSV, JSON (a list of records), JSON Lines or Parquet, one row per text.

    ``train`` and ``val`` are file paths (relative to ``root`` when given); without them ``root`` is searched for
    ``train.<ext>`` and ``val|valid|validation|dev|test.<ext>``. Without a validation file, a ``val_fraction`` of
    the training rows (chosen with ``seed``) is held out. Labels are integers or strings; ``label_names`` gives the
    class names (for strings: their order, and every label must be one of them), else integers are named "0", "1",
    ... and strings are sorted.
    """
    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {split!r} for dataset 'text_files'. Valid splits: train, val ('test' = val).")
    train_path, val_path = _find_files(root, train, val)
    columns = (text_column, label_column)
    train_texts, train_raw, upstream = _read(train_path, format, columns)
    val_texts, val_raw, _ = _read(val_path, format, columns) if val_path else ([], [], None)
    classes, to_index = _label_map(train_raw + val_raw, label_names or upstream, str(train_path))
    if val_path is None:
        if not 0 < val_fraction < 1:
            raise ConfigError(f"data.args.val_fraction must be between 0 and 1, got {val_fraction}")
        order = list(range(len(train_texts)))
        random.Random(seed).shuffle(order)
        held = set(order[: max(1, round(val_fraction * len(order)))])
        rows = [i for i in range(len(train_texts)) if (i in held) == (split != "train")]
        texts, raw = [train_texts[i] for i in rows], [train_raw[i] for i in rows]
    else:
        texts, raw = (train_texts, train_raw) if split == "train" else (val_texts, val_raw)
    return TextSplit(texts, [to_index(label) for label in raw], classes)


def _find_files(root: str | None, train: str | None, val: str | None) -> tuple[Path, Path | None]:
    base = Path(root).expanduser() if root is not None else None

    def place(path: str) -> Path:
        p = Path(path).expanduser()
        return base / p if base is not None and not p.is_absolute() else p

    if train is None:
        if base is None:
            raise ConfigError(
                "dataset 'text_files' needs data.args.train=PATH (a .csv, .tsv, .json, .jsonl or .parquet file), "
                "or data.args.root=DIR holding train.<ext> and optionally val.<ext>"
            )
        found = [base / f"train{ext}" for ext in FORMATS if (base / f"train{ext}").is_file()]
        if not found:
            raise DatasetNotFoundError(
                f"no train file in {base}: expected one of {', '.join('train' + e for e in FORMATS)} "
                "(or name the file with data.args.train=PATH)"
            )
        train_path = found[0]
        if val is None:
            vals = [base / f"{n}{ext}" for n in _VAL_NAMES for ext in FORMATS if (base / f"{n}{ext}").is_file()]
            return train_path, vals[0] if vals else None
    else:
        train_path = place(train)
    val_path = place(val) if val is not None else None
    for path in (train_path, val_path):
        if path is not None and not path.is_file():
            raise DatasetNotFoundError(f"{path} does not exist: check data.args.train / data.args.val (and root)")
    return train_path, val_path


def _read(
    path: Path, format: str | None, columns: tuple[str, str]  # noqa: A002
) -> tuple[list[str], list[Any], list[str] | None]:
    """Texts, raw labels and, when the file declares them (a ``datasets`` ClassLabel in Parquet), class names."""
    stat = path.stat()
    texts, labels, names = _read_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size, format, columns)
    return list(texts), list(labels), names


@lru_cache(maxsize=16)
def _read_cached(
    path: str, mtime: int, size: int, format: str | None, columns: tuple[str, str]  # noqa: A002
) -> tuple[list[str], list[Any], list[str] | None]:
    """One file through ``datasets``' reader for its format; cached while the file is unchanged."""
    import datasets

    kind = format or FORMATS.get(Path(path).suffix.lower())
    if kind not in ("csv", "tsv", "json", "parquet"):
        raise ConfigError(
            f"cannot tell the format of {path}; name it with data.args.format=csv|tsv|json|parquet "
            f"(known suffixes: {', '.join(FORMATS)})"
        )
    options: dict[str, Any] = {"delimiter": "\t"} if kind == "tsv" else {}
    try:
        table = datasets.load_dataset("csv" if kind == "tsv" else kind, data_files=path, split="train", **options)
    except Exception as error:  # the readers raise many types; the message names the file either way
        raise ConfigError(f"cannot read {path} as {kind}: {root_cause(error)}") from error
    texts, labels = _columns(table, *columns, name=path)
    names = getattr(table.features.get(columns[1]), "names", None)
    return texts, labels, list(names) if names else None


def _label_map(raw: Sequence[Any], names: list[str] | None, where: str) -> tuple[list[str], Any]:
    """Class names and a function from a raw label (int or str) to its index."""
    if any(isinstance(label, bool) or not isinstance(label, (int, str)) for label in raw):
        row, bad = next((i, label) for i, label in enumerate(raw)
                        if isinstance(label, bool) or not isinstance(label, (int, str)))
        if bad is None:
            raise ConfigError(f"{where}: row {row + 1} has no label (a short or empty line?); give every row one")
        raise ConfigError(f"{where}: labels must be integers or strings, found {bad!r} at row {row + 1}")
    if all(isinstance(label, int) for label in raw):
        count = max(raw, default=-1) + 1
        classes = [str(n) for n in names] if names else [str(i) for i in range(count)]
        if min(raw, default=0) < 0 or count > len(classes):
            raise ConfigError(f"{where}: integer labels run from {min(raw)} to {count - 1}, but there are only "
                              f"{len(classes)} label_names {classes}")
        return classes, int
    labels = [str(label) for label in raw]
    classes = [str(n) for n in names] if names else sorted(set(labels))
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ConfigError(f"{where}: labels {unknown[:5]} are not in data.args.label_names {classes}")
    return classes, lambda label: index[str(label)]
