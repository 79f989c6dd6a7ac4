"""Parallel text for translation: the embedded pair and the formats translation data comes in.

Every loader returns a :class:`ParallelSplit` (source sentences, their translations, the two language codes), with
the languages named in the recipe (``data.args.source_lang`` / ``target_lang``) so that a file holding both
directions is read the way the recipe asks.

    python -m zoo.train --task nlp --problem translation                                   # the embedded pair
    python -m zoo.train --task nlp --problem translation --dataset moses \
        data.args.root=corpus data.args.source_lang=de data.args.target_lang=en           # corpus/train.de, train.en
    python -m zoo.train --task nlp --problem translation --dataset tatoeba \
        data.args.train=eng-deu/train.tsv data.args.source_lang=eng data.args.target_lang=deu
    python -m zoo.train --task nlp --problem translation --dataset po_files \
        data.args.source=django/conf/locale/de/LC_MESSAGES/django.po \
        data.args.target=django/conf/locale/fr/LC_MESSAGES/django.po data.args.source_lang=de data.args.target_lang=fr

Formats: Tatoeba-Challenge TSV (``srclang  trglang  source  target`` per line), Moses-style line-aligned files
(``train.de`` beside ``train.en``), TMX 1.4 translation memories, JSON Lines / JSON / CSV / TSV / Parquet with one
column per language or Hugging Face ``translation`` records (``{"translation": {"de": ..., "en": ...}}``), hub
datasets with ``translation`` records from the ``datasets`` cache, and gettext ``.po`` catalogues.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, DatasetNotFoundError, root_cause

_VAL_NAMES = ("val", "valid", "validation", "dev", "test")


@dataclass
class ParallelSplit:
    """``targets[i]`` translates ``sources[i]`` from ``source_lang`` into ``target_lang``."""

    sources: list[str]
    targets: list[str]
    source_lang: str
    target_lang: str

    def __post_init__(self) -> None:
        if len(self.sources) != len(self.targets):
            raise ConfigError(f"{len(self.sources)} source sentences but {len(self.targets)} target sentences")
        for side, texts in (("source", self.sources), ("target", self.targets)):
            for i, text in enumerate(texts):
                if not isinstance(text, str) or not text.strip():
                    raise ConfigError(f"pair {i} has an empty {side} sentence ({text!r}); remove it from the data")


def _split_name(split: str, dataset: str) -> str:
    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {split!r} for dataset {dataset!r}. Valid splits: train, val, test")
    return split


def _hold_out(pairs: list[tuple[str, str]], split: str, fraction: float, seed: int) -> list[tuple[str, str]]:
    """The train or the held-out part of ``pairs`` (a seeded ``fraction`` of them) when there is no val file."""
    if not 0 < fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1, got {fraction}")
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    held = set(order[: max(1, round(fraction * len(order)))])
    return [pair for i, pair in enumerate(pairs) if (i in held) == (split != "train")]


def _place(root: str | None, path: str | None) -> Path | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    return Path(root).expanduser() / p if root is not None and not p.is_absolute() else p


def _existing(path: Path | None, what: str) -> Path | None:
    if path is not None and not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist: check data.args.{what} (and data.args.root)")
    return path


def _from_files(
    split: str, dataset: str, root: str | None, train: str | None, val: str | None, suffixes: Sequence[str],
    read: Any, val_fraction: float, seed: int, source_lang: str, target_lang: str,
) -> ParallelSplit:
    """Shared by the one-file formats: find the train (and val) file, read it, hold out val when there is none."""
    _split_name(split, dataset)
    base = Path(root).expanduser() if root is not None else None
    train_path = _existing(_place(root, train), "train")
    val_path = _existing(_place(root, val), "val")
    if train_path is None:
        if base is None:
            raise ConfigError(f"dataset {dataset!r} needs data.args.train=FILE, or data.args.root=DIR holding "
                              f"train{suffixes[0]}")
        found = [base / f"train{s}" for s in suffixes if (base / f"train{s}").is_file()]
        if not found:
            raise DatasetNotFoundError(f"no train file in {base}: expected one of "
                                       f"{', '.join('train' + s for s in suffixes)} (or data.args.train=FILE)")
        train_path = found[0]
        if val is None:
            vals = [base / f"{n}{s}" for n in _VAL_NAMES for s in suffixes if (base / f"{n}{s}").is_file()]
            val_path = vals[0] if vals else None
    if split == "train" or val_path is None:
        pairs = read(train_path)
        if val_path is None:
            pairs = _hold_out(pairs, split, val_fraction, seed)
    else:
        pairs = read(val_path)
    return ParallelSplit([s for s, _ in pairs], [t for _, t in pairs], source_lang, target_lang)


# --- embedded --------------------------------------------------------------------------------------------------------


def toy_pair(
    split: str, root: str | None = None, download: bool = False, num_train: int = 20_000, num_val: int = 500,
    seed: int = 0,
) -> ParallelSplit:
    """English into the generated verb-final language of :mod:`zoo.nlp.toy_language`; ``root``, ``download``
    are unused."""
    from zoo.nlp import toy_language

    sources, targets = toy_language.pairs(_split_name(split, "toy_pair"), num_train, num_val, seed)
    return ParallelSplit(sources, targets, toy_language.SOURCE_LANG, toy_language.TARGET_LANG)


# --- Tatoeba-Challenge TSV -------------------------------------------------------------------------------------------


def read_tatoeba(path: Path, source_lang: str, target_lang: str) -> list[tuple[str, str]]:
    """Lines ``srclang<TAB>trglang<TAB>source<TAB>target``; rows in the other direction are turned round, rows of
    other languages (a multilingual release) are left out with a warning that counts them."""
    pairs, other = [], 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            columns = line.split("\t")
            if len(columns) != 4:
                raise ConfigError(
                    f"{path}:{number}: a Tatoeba-Challenge line has 4 tab-separated columns (source language, "
                    f"target language, source, target), this one has {len(columns)}: the language columns are missing"
                    if len(columns) == 2 else
                    f"{path}:{number}: a Tatoeba-Challenge line has 4 tab-separated columns (source language, "
                    f"target language, source, target), this one has {len(columns)}"
                )
            first, second, a, b = columns
            if _same(first, source_lang) and _same(second, target_lang):
                pairs.append((a, b))
            elif _same(first, target_lang) and _same(second, source_lang):
                pairs.append((b, a))
            else:
                other += 1
    if not pairs:
        raise ConfigError(f"{path} holds no {source_lang}-{target_lang} pairs; set data.args.source_lang and "
                          "target_lang to the codes in its first two columns")
    if other:
        warnings.warn(f"{path}: left out {other} lines in languages other than {source_lang} and {target_lang}",
                      stacklevel=2)
    return pairs


def _same(code: str, wanted: str) -> bool:
    """Language codes match case-insensitively, and ``deu_Latn`` or ``en-US`` match ``deu`` or ``en``."""
    code, wanted = code.strip().lower().replace("-", "_"), wanted.strip().lower().replace("-", "_")
    return code == wanted or code.split("_")[0] == wanted


def tatoeba(
    split: str, root: str | None = None, download: bool = False, train: str | None = None, val: str | None = None,
    source_lang: str = "eng", target_lang: str = "deu", val_fraction: float = 0.05, seed: int = 0,
) -> ParallelSplit:
    """Tatoeba-Challenge test and dev files (``tatoeba-test-v2021-08-07.eng-deu.txt``) or the same TSV shape of
    your own: ``train`` and ``val`` are files (relative to ``root``), else ``root`` holds ``train.tsv`` (and
    ``dev.tsv``/``test.tsv``...); without a val file a seeded ``val_fraction`` of train is held out."""
    return _from_files(split, "tatoeba", root, train, val, (".tsv", ".txt"),
                       lambda p: read_tatoeba(p, source_lang, target_lang), val_fraction, seed,
                       source_lang, target_lang)


# --- Moses-style line-aligned files ----------------------------------------------------------------------------------


def read_aligned(source: Path, target: Path) -> list[tuple[str, str]]:
    """Two files with one sentence a line, line ``i`` of one translating line ``i`` of the other."""
    a = source.read_text(encoding="utf-8").splitlines()
    b = target.read_text(encoding="utf-8").splitlines()
    if len(a) != len(b):
        raise ConfigError(f"{source} has {len(a)} lines but {target} has {len(b)}: line-aligned files must match")
    return list(zip(a, b))


def moses(
    split: str, root: str | None = None, download: bool = False, source_lang: str = "de", target_lang: str = "en",
    train_prefix: str = "train", val_prefix: str | None = None, val_fraction: float = 0.05, seed: int = 0,
) -> ParallelSplit:
    """``root/train.<source_lang>`` and ``root/train.<target_lang>``, and for validation the first of ``dev``,
    ``valid``, ``val``, ``test`` (or ``val_prefix``) present, else a seeded ``val_fraction`` of train."""
    _split_name(split, "moses")
    if root is None:
        raise ConfigError("dataset 'moses' needs data.args.root=DIR holding train.<source_lang> and "
                          "train.<target_lang>")
    base = Path(root).expanduser()

    def files(prefix: str) -> tuple[Path, Path] | None:
        pair = base / f"{prefix}.{source_lang}", base / f"{prefix}.{target_lang}"
        return pair if all(p.is_file() for p in pair) else None

    train_files = files(train_prefix)
    if train_files is None:
        raise DatasetNotFoundError(f"no {train_prefix}.{source_lang} and {train_prefix}.{target_lang} in {base}: "
                                   "check data.args.root, source_lang and target_lang")
    prefixes = [val_prefix] if val_prefix else ["dev", "valid", "val", "validation", "test"]
    val_files = next((found for p in prefixes if (found := files(p)) is not None), None)
    if val_prefix and val_files is None:
        raise DatasetNotFoundError(f"no {val_prefix}.{source_lang} and {val_prefix}.{target_lang} in {base}")
    if split == "train" or val_files is None:
        pairs = read_aligned(*train_files)
        if val_files is None:
            pairs = _hold_out(pairs, split, val_fraction, seed)
    else:
        pairs = read_aligned(*val_files)
    return ParallelSplit([s for s, _ in pairs], [t for _, t in pairs], source_lang, target_lang)


# --- TMX -------------------------------------------------------------------------------------------------------------

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def read_tmx(path: Path, source_lang: str, target_lang: str) -> list[tuple[str, str]]:
    """The translation units of a TMX file holding both languages (``xml:lang``, or ``lang`` in TMX 1.1)."""
    import xml.etree.ElementTree as ElementTree

    try:
        tree = ElementTree.parse(path)
    except ElementTree.ParseError as error:
        raise ConfigError(f"cannot read {path} as TMX: {error}") from error
    pairs, partial = [], 0
    for unit in tree.iter("tu"):
        texts: dict[str, str] = {}
        for variant in unit.iter("tuv"):
            lang = variant.get(_XML_LANG) or variant.get("lang") or ""
            segment = variant.find("seg")
            text = "".join(segment.itertext()).strip() if segment is not None else ""
            for wanted in (source_lang, target_lang):
                if _same(lang, wanted) and text:
                    texts.setdefault(wanted, text)
        if source_lang in texts and target_lang in texts:
            pairs.append((texts[source_lang], texts[target_lang]))
        else:
            partial += 1
    if not pairs:
        raise ConfigError(f"{path} has no translation unit with both {source_lang!r} and {target_lang!r} "
                          "(xml:lang of its <tuv>); set data.args.source_lang and target_lang to its codes")
    if partial:
        warnings.warn(f"{path}: left out {partial} translation units lacking {source_lang} or {target_lang}",
                      stacklevel=2)
    return pairs


def tmx(
    split: str, root: str | None = None, download: bool = False, train: str | None = None, val: str | None = None,
    source_lang: str = "en", target_lang: str = "de", val_fraction: float = 0.05, seed: int = 0,
) -> ParallelSplit:
    """A TMX translation memory (``train``, ``val`` files, or ``root/train.tmx``)."""
    return _from_files(split, "tmx", root, train, val, (".tmx",), lambda p: read_tmx(p, source_lang, target_lang),
                       val_fraction, seed, source_lang, target_lang)


# --- tables: JSON Lines, JSON, CSV, TSV, Parquet; Hugging Face translation records -----------------------------------

TABLE_FORMATS = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".csv": "csv", ".tsv": "tsv",
                 ".parquet": "parquet"}


def pairs_from_table(table: Any, source_lang: str, target_lang: str, where: str) -> list[tuple[str, str]]:
    """Rows with a column per language, or a ``translation`` column of ``{lang: text}`` records."""
    columns = list(table.column_names)
    if "translation" in columns and source_lang not in columns:
        records = list(table["translation"])
        for i, record in enumerate(records):
            missing = [lang for lang in (source_lang, target_lang) if not isinstance(record, dict) or lang not in record]
            if missing:
                keys = sorted(record) if isinstance(record, dict) else type(record).__name__
                raise ConfigError(f"{where}: row {i} has no {missing[0]!r} in its translation record (it has {keys}); "
                                  "set data.args.source_lang and target_lang to its language codes")
        return [(r[source_lang], r[target_lang]) for r in records]
    for lang in (source_lang, target_lang):
        if lang not in columns:
            raise ConfigError(f"{where} has no column {lang!r} for language {lang!r}; its columns are "
                              f"{', '.join(columns)}. Set data.args.source_lang and target_lang to two of them")
    return list(zip(table[source_lang], table[target_lang]))


def _read_table(path: Path, format: str | None, source_lang: str, target_lang: str) -> list[tuple[str, str]]:  # noqa: A002
    import datasets

    kind = format or TABLE_FORMATS.get(path.suffix.lower())
    if kind not in ("json", "csv", "tsv", "parquet"):
        raise ConfigError(f"cannot tell the format of {path}; name it with data.args.format=json|csv|tsv|parquet")
    options: dict[str, Any] = {"delimiter": "\t"} if kind == "tsv" else {}
    try:
        table = datasets.load_dataset("csv" if kind == "tsv" else kind, data_files=str(path), split="train", **options)
    except Exception as error:  # the readers raise many types; the message names the file either way
        raise ConfigError(f"cannot read {path} as {kind}: {root_cause(error)}") from error
    return pairs_from_table(table, source_lang, target_lang, str(path))


def parallel_files(
    split: str, root: str | None = None, download: bool = False, train: str | None = None, val: str | None = None,
    source_lang: str = "en", target_lang: str = "de", format: str | None = None,  # noqa: A002
    val_fraction: float = 0.05, seed: int = 0,
) -> ParallelSplit:
    """Your own pairs as JSON Lines, JSON, CSV, TSV or Parquet: a column named by each language code, or a
    ``translation`` column of ``{code: text}`` records as Hugging Face datasets write them."""
    return _from_files(split, "parallel_files", root, train, val, tuple(TABLE_FORMATS),
                       lambda p: _read_table(p, format, source_lang, target_lang), val_fraction, seed,
                       source_lang, target_lang)


def hf_translation(
    split: str, root: str | None = None, download: bool = False, repo: str = "wmt/wmt16", config: str = "de-en",
    source_lang: str = "de", target_lang: str = "en", val_split: str = "validation",
) -> ParallelSplit:
    """A hub dataset of ``translation`` records (wmt/wmt16 de-en, Helsinki-NLP/opus_books, ...) from the
    ``datasets`` cache; ``download=true`` lets ``datasets`` fetch it first."""
    import datasets

    from zoo.nlp.datasets import _hub_offline

    _split_name(split, "hf_translation")
    upstream = "train" if split == "train" else ("test" if split == "test" else val_split)
    cache = str(Path(root).expanduser()) if root is not None else None
    try:
        with _hub_offline(not download):
            table = datasets.load_dataset(repo, config, split=upstream, cache_dir=cache)
    except (ConnectionError, FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        raise DatasetNotFoundError(
            f"{repo} ({config}, split {upstream}) is not in the datasets cache ({cache or datasets.config.HF_DATASETS_CACHE}"
            f"; {type(error).__name__}: {error}); set data.args.download=true where there is a network"
        ) from error
    pairs = pairs_from_table(table, source_lang, target_lang, f"{repo} {config}")
    return ParallelSplit([s for s, _ in pairs], [t for _, t in pairs], source_lang, target_lang)


# --- gettext catalogues ------------------------------------------------------------------------------------------------


def read_po(path: Path) -> dict[tuple[str, str], str]:
    """Translated, non-fuzzy, non-obsolete messages of a .po file: ``(context, msgid) -> msgstr`` (the singular
    form of plural messages)."""
    try:
        import polib
    except ImportError as error:
        raise ConfigError("reading .po files needs polib: pip install 'zoo[po]' (or pip install polib)") from error
    try:
        catalogue = polib.pofile(str(path))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path} as a gettext .po file: {error}") from error
    messages = {}
    for entry in catalogue:
        if entry.obsolete or entry.fuzzy:
            continue
        text = entry.msgstr if not entry.msgid_plural else entry.msgstr_plural.get(0, "")
        if text.strip() and entry.msgid.strip():
            messages[entry.msgctxt or "", entry.msgid] = text
    return messages


def po_pairs(source: Path, target: Path | None) -> list[tuple[str, str]]:
    """Messages both catalogues translate, joined on their msgid (and context): ``(source text, target text)``.
    With ``target`` None, the msgid (the programme's own language, English for Django) is the source."""
    for path in (source, target):
        if path is not None and not path.is_file():
            raise DatasetNotFoundError(f"{path} does not exist: check data.args.source / data.args.target")
    if target is None:
        return [(msgid, text) for (_, msgid), text in sorted(read_po(source).items())]
    a, b = read_po(source), read_po(target)
    return [(a[key], b[key]) for key in sorted(a.keys() & b.keys())]


def po_tree_pairs(root: Path, source_lang: str, target_lang: str) -> list[tuple[str, str]]:
    """Every catalogue under ``root`` at ``.../<source_lang>/LC_MESSAGES/NAME.po`` joined with the one at the same
    place for ``target_lang`` (Django: ``conf/locale`` and each ``contrib/<app>/locale``); ``source_lang`` ``msgid``
    pairs each target catalogue with its message ids."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root} is not a directory: check data.args.root")
    found = []
    for target in sorted(root.rglob(f"{target_lang}/LC_MESSAGES/*.po")):
        if source_lang == "msgid":
            found += po_pairs(target, None)
            continue
        source = target.parents[1].parent / source_lang / "LC_MESSAGES" / target.name
        if source.is_file():
            found += po_pairs(source, target)
    if not found:
        raise DatasetNotFoundError(f"no {target_lang}/LC_MESSAGES/*.po under {root} with a {source_lang} counterpart")
    return list(dict.fromkeys(found))  # a message shared by two apps counts once


def po_files(
    split: str, root: str | None = None, download: bool = False, source: str | None = None,
    target: str | None = None, source_lang: str = "de", target_lang: str = "fr", val_fraction: float = 0.1,
    seed: int = 0,
) -> ParallelSplit:
    """Two gettext catalogues of one programme (Django's ``conf/locale/<lang>/LC_MESSAGES/django.po``), joined on
    their message ids into pairs; ``target`` alone pairs the msgids (English) with its translations. Without
    either, every catalogue pair under ``root`` (:func:`po_tree_pairs`; ``source_lang=msgid`` for the ids). A seeded
    ``val_fraction`` of the messages is held out."""
    _split_name(split, "po_files")
    if source is None and target is None:
        if root is None:
            raise ConfigError("dataset 'po_files' needs data.args.source=FILE.po and data.args.target=FILE.po "
                              "(or data.args.target alone: its msgids are the source), or data.args.root=DIR "
                              "holding <lang>/LC_MESSAGES/*.po catalogues")
        pairs = _hold_out(po_tree_pairs(Path(root).expanduser(), source_lang, target_lang), split, val_fraction, seed)
        return ParallelSplit([s for s, _ in pairs], [t for _, t in pairs], source_lang, target_lang)
    source_path, target_path = _place(root, source), _place(root, target)
    pairs = po_pairs(target_path, None) if source_path is None else po_pairs(source_path, target_path)
    if not pairs:
        raise ConfigError(f"{source_path} and {target_path} have no translated message in common")
    pairs = _hold_out(pairs, split, val_fraction, seed)
    return ParallelSplit([s for s, _ in pairs], [t for _, t in pairs], source_lang, target_lang)
