"""Malformed lines of an interaction file: counted, the first named with its line number, and the file refused
past a small threshold.

A few bad lines in a large log (a short line, a text id in a numeric column, a NaN or 1e30 rating) are skipped and
reported as the run starts (``skipped:``); a file with more than ``MAX_BAD_FRACTION`` of its lines bad is refused in
one line, since it is more likely in another format (commas in a tab-separated release, say) than damaged.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo.errors import ConfigError

MAX_BAD_FRACTION = 0.01  # of a file's non-blank lines
_SKIPPED_LINE = re.compile(r"Skipping line (\d+): (?:Expected|expected) (\d+) fields(?: in line \d+)?, saw (\d+)")


@dataclass
class Rows:
    """The columns of a file as strings (missing fields ""), and the line each row came from."""

    label: str
    columns: dict[str, np.ndarray]
    lines: np.ndarray  # int64, 1-based, counting a header line
    bad: dict[int, str] = field(default_factory=dict)  # line -> reason, for lines already dropped
    what: str = "line"  # "row" for Parquet, which has no lines


def read_delimited(source: Any, label: str, sep: str | None, names: list[str] | None = None,
                   **options: Any) -> Rows:
    """Every field as a string; a line with the wrong number of fields is recorded as bad instead of raised.

    ``names`` reads a file without a header row; ``sep=None`` sniffs the separator."""
    import pandas as pd

    header = {"header": None, "names": names} if names else {}
    engine = {"sep": None, "engine": "python"} if sep is None else {"sep": sep}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pd.read_csv(source, dtype=str, keep_default_na=False, skip_blank_lines=False, on_bad_lines="warn",
                                index_col=False, **header, **engine, **options)
    except UnicodeDecodeError as error:
        raise ConfigError(f"{label} is not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"{label} cannot be read as a delimited table ({reason}); check its separator "
                          "(data.args.sep) and quoting") from None
    bad = {}
    for warning in caught:
        for match in _SKIPPED_LINE.finditer(str(warning.message)):
            bad[int(match[1])] = f"{match[3]} fields where {match[2]} were expected"
    first = 1 if names else 2  # the first data line
    lines = np.array([n for n in range(first, first + len(frame) + len(bad)) if n not in bad], dtype=np.int64)
    columns = {str(c): frame[c].fillna("").astype(str).str.strip().to_numpy() for c in frame.columns}
    return Rows(label, columns, lines, bad)


def load(source: Any, label: str, sep: str | None, names: list[str] | None, user: str, item: str, rating: str = "",
         timestamp: str = "", numeric_ids: bool = False, rating_range: tuple[float, float] | None = None,
         dates: bool = False, **options: Any) -> tuple[dict[str, np.ndarray], list[str]]:
    """:func:`clean` of a delimited file, through pandas' typed reader when the file is clean (a log of millions of
    lines reads in seconds) and line by line as strings only when something in it is not."""
    typed = _typed(source, sep, names, user, item, rating, timestamp, rating_range, **options)
    if typed is not None:
        return typed, []
    if hasattr(source, "seek"):
        source.seek(0)
    read = read_delimited(source, label, sep, names, **options)
    missing = [c for c in (user, item, rating, timestamp) if c and c not in read.columns]
    if missing:
        raise KeyError(missing[0])
    return clean(read, user, item, rating, timestamp, numeric_ids, rating_range, dates)


def _typed(source: Any, sep: str | None, names: list[str] | None, user: str, item: str, rating: str,
           timestamp: str, rating_range: tuple[float, float] | None, **options: Any) -> dict[str, np.ndarray] | None:
    """The columns as pandas types them, when every line has its fields, ids and timestamps are integers and every
    rating is a finite number in range; None otherwise (or when the file cannot be read so)."""
    import pandas as pd

    header = {"header": None, "names": names} if names else {}
    engine = {"sep": None, "engine": "python"} if sep is None else {"sep": sep}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pd.read_csv(source, skip_blank_lines=False, on_bad_lines="warn", index_col=False, **header,
                                **engine, **options)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    if any(_SKIPPED_LINE.search(str(w.message)) for w in caught) or len(frame) == 0:
        return None
    integers = [c for c in (user, item, timestamp) if c]
    if any(c not in frame.columns or not pd.api.types.is_integer_dtype(frame[c]) for c in integers):
        return None
    out = {"user": frame[user].to_numpy(np.int64), "item": frame[item].to_numpy(np.int64)}
    if timestamp:
        out["timestamp"] = frame[timestamp].to_numpy(np.int64)
    if rating:
        if rating not in frame.columns or not pd.api.types.is_numeric_dtype(frame[rating]):
            return None
        values = frame[rating].to_numpy(np.float64)
        low, high = rating_range if rating_range is not None else (-np.inf, np.inf)
        if not (np.isfinite(values) & (values >= low) & (values <= high)).all():
            return None
        out["rating"] = values
    return out


def from_frame(frame: Any, label: str) -> Rows:
    """Rows of a typed table (Parquet): numbered from 1, missing values as ""."""
    columns = {str(c): np.array(["" if _missing(v) else str(v) for v in frame[c].tolist()], dtype=object)
               for c in frame.columns}
    return Rows(label, columns, np.arange(1, len(frame) + 1, dtype=np.int64), what="row")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def clean(rows: Rows, user: str, item: str, rating: str = "", timestamp: str = "", numeric_ids: bool = False,
          rating_range: tuple[float, float] | None = None, dates: bool = False) -> tuple[dict[str, np.ndarray],
                                                                                        list[str]]:
    """The valid rows' user, item, rating and timestamp arrays, and ``label:LINE`` of each line skipped.

    Ids stay strings unless every one is an integer (then int64, so that they sort numerically as before); a
    rating must be a finite number (inside ``rating_range`` when given); a timestamp a number, or with ``dates`` a
    date string. Raises :class:`ConfigError` naming the first bad line when more than ``MAX_BAD_FRACTION`` are bad.
    """
    import pandas as pd

    n = len(rows.lines)
    columns = rows.columns
    blank = np.ones(n, dtype=bool)
    for values in columns.values():
        blank &= values == ""
    reasons = np.full(n, "", dtype=object)

    def flag(mask: np.ndarray, reason: Any) -> None:
        new = mask & (reasons == "") & ~blank
        if new.any():
            reasons[new] = [reason(i) if callable(reason) else reason for i in np.flatnonzero(new)]

    out: dict[str, np.ndarray] = {}
    for role, name in (("user", user), ("item", item), ("rating", rating), ("timestamp", timestamp)):
        if name:  # a short line: its missing fields first
            flag(columns[name] == "", f"no {role}")
    for role, name in (("user", user), ("item", item)):
        values = columns[name]
        integer = pd.Series(values, dtype=object).str.fullmatch(r"[+-]?\d{1,18}").fillna(False).to_numpy(bool)
        if numeric_ids:
            flag(~integer, lambda i, v=values, r=role: f"{r} {v[i]!r} is not an integer id")
        usable = (reasons == "") & ~blank
        out[role] = np.where(integer, values, "0").astype(np.int64) if integer[usable].all() else values
    if rating:
        values = columns[rating]
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
        flag(~np.isfinite(numbers), lambda i, v=values: f"rating {v[i]!r} is not a finite number")
        if rating_range is not None:
            low, high = rating_range
            flag((numbers < low) | (numbers > high),
                 lambda i, v=values: f"rating {v[i]} is outside {low:g}..{high:g}")
        out["rating"] = numbers
    if timestamp:
        values = columns[timestamp]
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
        ok = np.isfinite(numbers)
        if dates and not ok[(values != "")].all():
            parsed = pd.to_datetime(pd.Series(values), utc=True, format="mixed", errors="coerce")
            numbers = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(np.float64)
            ok = np.isfinite(numbers)
        kind = "a number or a date" if dates else "a number"
        flag(~ok, lambda i, v=values: f"timestamp {v[i]!r} is not {kind}")
        out["timestamp"] = np.nan_to_num(numbers).astype(np.int64)
    keep = (reasons == "") & ~blank
    bad = {**rows.bad, **{int(rows.lines[i]): str(reasons[i]) for i in np.flatnonzero(reasons != "")}}
    total = int((~blank).sum()) + len(rows.bad)
    if len(bad) > MAX_BAD_FRACTION * total:
        line = min(bad)
        raise ConfigError(
            f"{rows.label}: {len(bad)} of {total} {rows.what}s are malformed (more than {MAX_BAD_FRACTION:.0%}); "
            f"the first is {rows.what} {line}: {bad[line]}. Fix them, or check the file's format and separator "
            "(data.args.sep)"
        )
    return {role: values[keep] for role, values in out.items()}, [f"{rows.label}:{line}" for line in sorted(bad)]


def describe(skipped: list[str], label: str) -> dict[str, list[str]]:
    """The ``skipped`` entry a dataset carries for zoo.fit to report: one reason, the lines as examples."""
    return {f"malformed lines of {label}": skipped} if skipped else {}
