"""Lists that read as tables: aligned text in a terminal, HTML in Jupyter.

``zoo.list_models()`` and friends return a :class:`Table`, which is a plain ``list`` of the entries (index it, loop
over it, filter it) that also knows which columns to show. Light on purpose: no pandas, no torch.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# column title -> how to read it from one item
Columns = Sequence[tuple[str, Callable[[Any], Any]]]


class Table(list, Generic[T]):
    """A list of entries shown as a table; ``columns`` pairs each title with a function reading it from an entry."""

    def __init__(self, items: Iterable[T] = (), columns: Columns = ()):
        super().__init__(items)
        self.columns = list(columns)

    def rows(self) -> list[list[str]]:
        return [[_cell(read(item)) for _, read in self.columns] for item in self]

    def __repr__(self) -> str:
        if not self.columns:
            return super().__repr__()
        if not self:
            return "(no entries)"
        return format_table([title for title, _ in self.columns], self.rows())

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(title)}</th>" for title, _ in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __getitem__(self, index: Any) -> Any:
        item = super().__getitem__(index)
        return Table(item, self.columns) if isinstance(index, slice) else item


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, a rule under the header."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *cells)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [list(header), *cells]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def human(count: int | float) -> str:
    """1234567 -> '1.2M': counts a person reads at a glance."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (tuple, list)):
        return ", ".join(_cell(v) for v in value)
    return str(value)
