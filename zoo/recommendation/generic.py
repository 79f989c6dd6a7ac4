"""Your own interaction log: one CSV, TSV or Parquet file with a row per event, column names configurable.

    python -m zoo.train --task recommendation --dataset interactions data.args.path=events.parquet \\
        data.args.user_col=customer_id data.args.item_col=sku data.args.rating_col='' data.args.timestamp_col=ts

``rating_col: ''`` means implicit feedback (every row is a positive); an implicit 0/1 flag column is read as a
rating with ``min_rating: 1`` to keep only the positives. Timestamps may be numbers or date strings; without a
timestamp column the row order stands for time. An optional items file gives titles for ``predict``. A delimited
file without a header row (its first row all numbers, like MovieLens' u.data) holds the columns in the order user,
item, rating, timestamp (those named; ``rating_col: ''`` leaves rating out).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from torch import Tensor

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.recommendation import rows
from zoo.recommendation.interactions import Interactions, RecSplit, check_split, from_raw, split_mask
from zoo.recommendation.movielens import stamp

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


def read_table(path: Path, sep: str | None = None, names: list[str] | None = None):
    """A pandas DataFrame from CSV/TSV (separator by suffix unless given) or Parquet; with ``names``, a delimited
    file without a header row whose columns are, in order, ``names``."""
    import pandas as pd

    if not path.is_file():
        raise DatasetNotFoundError(
            f"interactions file {path} not found: set data.args.path to a CSV, TSV or Parquet file with one row per "
            "interaction (user, item, optional rating and timestamp columns)"
        )
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    separator = sep or _SEPARATORS.get(path.suffix.lower())
    header = {"header": None, "names": names} if names else {}
    if separator is None:
        return pd.read_csv(path, sep=None, engine="python", **header)  # sniffed
    return pd.read_csv(path, sep=separator, **header)


def has_header(path: Path, sep: str | None, columns: list[str]) -> bool:
    """Whether a delimited file opens with a header: it names one of ``columns``, or some field is not a number (a
    log without a header starts with a row of ids, ratings and timestamps, like MovieLens' u.data)."""
    import csv

    if path.suffix.lower() in (".parquet", ".pq") or not path.is_file():
        return True
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    separator = sep or _SEPARATORS.get(path.suffix.lower())
    if separator is None:
        try:
            separator = csv.Sniffer().sniff(first, delimiters=",\t;| ").delimiter
        except csv.Error:
            separator = ","
    fields = [f.strip().strip('"') for f in first.rstrip("\r\n").split(separator)]
    if any(f in columns for f in fields):
        return True
    return not all(_is_number(f) for f in fields if f)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _column(frame, name: str, what: str, path: Path, hint: str = ""):
    if name not in frame.columns:
        raise ConfigError(
            f"{path} has no {what} column {name!r}; its columns are {', '.join(map(str, frame.columns))}. "
            f"Set data.args.{what}_col to one of them{hint}."
        )
    return frame[name]


@lru_cache(maxsize=4)
def _read(
    path: str, user_col: str, item_col: str, rating_col: str, timestamp_col: str, items_path: str, title_col: str,
    sep: str | None, min_rating: float | None, version: tuple = (),
) -> Interactions:
    file = Path(path).expanduser()
    named = [c for c in (user_col, item_col, rating_col, timestamp_col) if c]
    names = None if has_header(file, sep, named) else named  # no header: the columns in order
    columns, skipped = _rows(file, sep, names, user_col, item_col, rating_col, timestamp_col)
    users, items = columns["user"], columns["item"]
    ratings = columns["rating"].astype(np.float32) if rating_col else None
    timestamps = columns.get("timestamp")
    titles = None
    if items_path:
        items_file = Path(items_path).expanduser()
        table = read_table(items_file, sep)
        keys = _column(table, item_col, "item", items_file).astype(str)
        titles = dict(zip(keys, _column(table, title_col, "title", items_file).fillna("").astype(str)))
    log, _, _ = from_raw(users, items, ratings, timestamps, titles, min_rating)
    log.skipped = rows.describe(skipped, file.name)
    return log


def _rows(path: Path, sep: str | None, names: list[str] | None, user_col: str, item_col: str, rating_col: str,
          timestamp_col: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """The user, item, rating and timestamp columns of the valid rows, and the malformed lines left out
    (zoo.recommendation.rows); a column that is not there fails naming those that are."""
    if not path.is_file():
        read_table(path)  # says what is missing and how to set it
    roles = dict(user_col=user_col, item_col=item_col, rating_col=rating_col, timestamp_col=timestamp_col)
    check = dict(rating_range=(-1e6, 1e6), dates=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        read = rows.from_frame(read_table(path), path.name)
        _check_columns(path, list(read.columns), **roles)
        return rows.clean(read, user_col, item_col, rating_col, timestamp_col, **check)
    sep = sep or _SEPARATORS.get(path.suffix.lower())
    try:
        return rows.load(path, path.name, sep, names, user_col, item_col, rating_col, timestamp_col, **check)
    except KeyError:
        _check_columns(path, list(rows.read_delimited(path, path.name, sep, names, nrows=0).columns), **roles)
        raise


def _check_columns(path: Path, columns: list[str], user_col: str, item_col: str, rating_col: str,
                   timestamp_col: str) -> None:
    for name, what, hint in ((user_col, "user", ""), (item_col, "item", ""),
                             (rating_col, "rating", ", or to '' for implicit feedback (every row a positive)"),
                             (timestamp_col, "timestamp", ", or to '' to use the row order")):
        if name and name not in columns:
            raise ConfigError(f"{path} has no {what} column {name!r}; its columns are {', '.join(columns)}. "
                              f"Set data.args.{what}_col to one of them{hint}.")


@lru_cache(maxsize=8)
def _mask(key: tuple, split_by: str, val_fraction: float, seed: int) -> Tensor:
    return split_mask(_read(*key), split_by, val_fraction, seed)


def interactions(
    split: str,
    root: str | None = None,
    download: bool = False,
    path: str = "",
    user_col: str = "user",
    item_col: str = "item",
    rating_col: str = "rating",
    timestamp_col: str = "timestamp",
    items_path: str = "",
    title_col: str = "title",
    sep: str | None = None,
    min_rating: float | None = None,
    split_by: str = "random",
    val_fraction: float = 0.2,
    seed: int = 0,
) -> RecSplit:
    """A log from ``path`` (relative paths resolve against ``root`` when given); ``download`` is unused."""
    check_split(split, "interactions")
    if not path:
        raise ConfigError("dataset 'interactions' needs data.args.path: a CSV, TSV or Parquet file of interactions")
    file = Path(root).expanduser() / path if root and not Path(path).is_absolute() else Path(path)
    items_file = (Path(root).expanduser() / items_path if root and not Path(items_path).is_absolute()
                  else Path(items_path)) if items_path else None
    version = stamp(file, *([items_file] if items_file else []))
    key = (str(file), user_col, item_col, rating_col, timestamp_col, str(items_file or ""), title_col, sep, min_rating,
           version)
    log = _read(*key)
    return RecSplit(log, _mask(key, split_by, float(val_fraction), seed), split, "interactions")
