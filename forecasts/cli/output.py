"""How the command line prints: one red error line, plain lines, tables, JSON, progress bars.

Conventions: results go to standard output, errors and progress to standard error.  A plain
line is written without rich, so the writing commands (``log``, ``resolve``...) never load it;
tables and the error line use rich, imported when first needed.  Text from the ledger (titles,
ids, notes) is always printed literally: never read as rich markup.  JSON values are made plain
(ISO dates, NaN as null) by :func:`plain`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd


def error(message: str) -> None:
    """The one red line a refused command prints on standard error."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True, highlight=False, soft_wrap=True).print(Text.assemble(("error:", "bold red"), " ",
                                                                              printable(message)))


#: Control characters a terminal could act on (C0 but tab and newline, DEL, C1): shown as
#: ``\xNN`` so a title or rationale can neither move the cursor, clear the screen nor set the
#: window title.
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def printable(text: str) -> str:
    """``text`` with every control character but tab and newline written out as ``\\xNN``."""
    return text.translate(_CONTROL)


def line(text: str, *, err: bool = False) -> None:
    """One line of plain text on standard output (or standard error), control characters
    written out (:func:`printable`)."""
    (sys.stderr if err else sys.stdout).write(printable(text) + "\n")


def plain(value: Any) -> Any:
    """A JSON-ready version of a value or a frame cell: ISO dates, Python numbers, NaN and NaT
    as None, ``-0.0`` as ``0.0``, lists and dicts converted item by item.

    >>> plain([float("nan"), -0.0, 1.5])
    [None, 0.0, 1.5]
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if hasattr(value, "isoformat"):  # datetimes, dates, pandas Timestamps; NaT (a datetime too) is null
        return None if str(value) == "NaT" else value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist())
    if isinstance(value, float):
        return None if value != value else (0.0 if value == 0.0 else value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    pandas = sys.modules.get("pandas")  # a pandas missing value exists only once pandas is loaded
    if pandas is not None:
        try:
            if pandas.isna(value):
                return None
        except (TypeError, ValueError):
            pass
    return value


def records(df: pd.DataFrame | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a frame (or of plain dicts) as JSON-ready dicts."""
    rows = df if isinstance(df, list) else df.to_dict(orient="records")
    return [{str(k): plain(v) for k, v in row.items()} for row in rows]


def write_json(value: Any, *, indent: int | None = 1) -> None:
    """``value`` as JSON on standard output (made plain first; anything else as its text):
    indented, but for each row of a table (a list of objects), which is written on one line, so
    that a thousand rows read as a table and are written by the standard library's C encoder;
    on one line when ``indent`` is None."""
    sys.stdout.write(_json(plain(value), indent, 0) + "\n")


def _json(value: Any, indent: int | None, depth: int) -> str:
    """:func:`write_json`'s text of a plain value, nested ``depth`` deep."""
    if indent is None or not isinstance(value, dict | list) or not value:
        return json.dumps(value, default=str)
    pad, inner = " " * indent * depth, " " * indent * (depth + 1)
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):  # a table: a row per line
            items = [json.dumps(v, default=str) for v in value]
        else:
            items = [_json(v, indent, depth + 1) for v in value]
        return "[\n" + ",\n".join(inner + item for item in items) + "\n" + pad + "]"
    items = [f"{json.dumps(str(k))}: {_json(v, indent, depth + 1)}" for k, v in value.items()]
    return "{\n" + ",\n".join(inner + item for item in items) + "\n" + pad + "}"


#: Below this, a float shown in a table is zero: the noise of a difference that is zero by
#: construction (a peer score of 1.776e-15), never a real score.
NOISE = 1e-12


def number_column(values: list[Any]) -> list[str] | None:
    """A table column of floats with one number of decimals for the whole column, so that its
    largest value shows 4 significant digits (``0.2174``, ``0.0850``, ``0.3344``; at most 6
    decimals, none from 1000 on, and no trailing zero that every value has); ``-0.0`` and noise below :data:`NOISE` show as ``0``, a
    missing value as nothing.  None when the column holds anything but floats.

    >>> number_column([0.2174, 0.08498, -1.776e-15, None])
    ['0.2174', '0.0850', '0', '']
    """
    import math

    present = [plain(v) for v in values]
    floats = [v for v in present if v is not None]
    if not floats or not all(isinstance(v, float) for v in floats):
        return None
    finite = [abs(v) for v in floats if math.isfinite(v) and abs(v) >= NOISE]
    top = max(finite, default=0.0)
    decimals = 0 if top == 0 else min(6, max(0, 3 - math.floor(math.log10(top))))
    shown = [v for v in floats if math.isfinite(v)]
    while decimals > 0 and all(f"{v:.{decimals}f}".endswith("0") for v in shown):
        decimals -= 1  # no trailing zero that every value has (5.2 and 7.0, not 5.200 and 7.000)
    out = []
    for v in present:
        if v is None:
            out.append("")
        elif not math.isfinite(v):
            out.append(str(v))
        elif abs(v) < NOISE or round(v, decimals) == 0:
            out.append("0")
        else:
            out.append(f"{v:.{decimals}f}")
    return out


def cell(value: Any) -> str:
    """The text of a table cell: 4 significant digits, dates to the minute (or the day)."""
    v = plain(value)
    if v is None or v == "NaT":
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={cell(x)}" for k, x in v.items())
    if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] == "T":
        return v[:16].replace("T", " ") if not v.endswith("T00:00:00") else v[:10]
    return printable(str(v)).replace("\t", " ")


#: Columns of free text: shortened with an ellipsis to fit the terminal.  Every other column
#: (ids, names, numbers, dates) is shown whole, never wrapped or cut.
TEXT_COLUMNS = frozenset({"title", "what", "why", "tags", "source_url", "criteria", "description", "note"})
#: The narrowest a text column is made, in terminal cells.
_MIN_TEXT = 12


def fit_columns(header: list[str], cells: list[list[str]], width: int) -> tuple[list[int], list[int]]:
    """Widths for a table of ``cells`` (rows of cell texts) in ``width`` terminal cells, and the
    indexes of the columns shown.  A column that is not free text (:data:`TEXT_COLUMNS`) gets
    the width of its longest cell, so no number or id is ever split (its header may wrap);
    free text shares what is left, at least ``_MIN_TEXT`` each, and is cut with an ellipsis.
    Columns that still do not fit are left out from the right (never the first one)."""
    from rich.cells import cell_len

    def need(i: int) -> int:
        longest = max((cell_len(row[i]) for row in cells), default=0)
        if header[i] in TEXT_COLUMNS:
            return min(max(longest, cell_len(header[i])), _MIN_TEXT)
        return max(longest, min(cell_len(header[i]), 8), 1)

    shown = list(range(len(header)))
    while len(shown) > 1 and sum(need(i) + 3 for i in shown) + 1 > width:
        shown.pop()
    widths = [need(i) for i in shown]
    spare = width - 1 - sum(w + 3 for w in widths)
    for k, i in enumerate(shown):  # headers whole where there is room
        extra = max(0, min(spare, cell_len(header[i]) - widths[k])) if header[i] not in TEXT_COLUMNS else 0
        widths[k] += extra
        spare -= extra
    texts = [k for k, i in enumerate(shown) if header[i] in TEXT_COLUMNS]
    while spare > 0 and texts:  # then the free text, a cell at a time, up to its longest cell
        grown = False
        for k in texts:
            i = shown[k]
            full = max([cell_len(header[i])] + [cell_len(row[i]) for row in cells])
            if spare > 0 and widths[k] < full:
                widths[k] += 1
                spare -= 1
                grown = True
        if not grown:
            break
    return widths, shown


def table(df: pd.DataFrame | list[dict[str, Any]], columns: list[str], *, title: str | None = None,
          as_json: bool = False, empty: str = "nothing to show", wide: bool = False) -> None:
    """A frame, or plain dicts (the listings that must not load pandas), as a table of
    ``columns`` (or, with ``as_json``, every column as JSON records).  The table fits the
    terminal (:func:`fit_columns`: no number or id split, long text cut with an ellipsis,
    columns that do not fit named below it); ``wide`` shows every column and all of the text."""
    if as_json:
        write_json(records(df))
        return
    if len(df) == 0:
        line(empty)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    rows = [[r[c] for c in columns] for r in df] if isinstance(df, list) else list(df[columns].itertuples(index=False))
    cells = [[cell(v) for v in row] for row in rows]
    for i in range(len(columns)):
        numbers = number_column([row[i] for row in rows])
        if numbers is not None:
            for row, text in zip(cells, numbers, strict=True):
                row[i] = text
    console = Console(highlight=False, soft_wrap=False, emoji=False)
    if wide:
        widths, shown = fit_columns(columns, cells, 1 << 20)
        widths = [max([len(columns[i])] + [len(r[i]) for r in cells]) for i in shown]
        console = Console(highlight=False, soft_wrap=False, emoji=False, width=sum(w + 3 for w in widths) + 1)
    else:
        widths, shown = fit_columns(columns, cells, console.width)
    out = Table(title=escape(title) if title is not None else None, show_lines=False)
    for i, w in zip(shown, widths, strict=True):
        text = columns[i] in TEXT_COLUMNS
        out.add_column(escape(columns[i]), width=w, no_wrap=text or wide,
                       overflow="ellipsis" if text else "fold")
    for row in cells:
        out.add_row(*(escape(row[i]) for i in shown))
    console.print(out)
    if len(shown) < len(columns):
        left = [columns[i] for i in range(len(columns)) if i not in shown]
        line(f"not shown at this width: {', '.join(left)} (--wide or --json shows them)")


class ProgressUpdate(Protocol):
    """``update(done, total, description="")``: how far a long command has got."""

    def __call__(self, done: int, total: int | None, description: str = "") -> None: ...


@contextmanager
def progress(label: str, *, show_from: int = 0) -> Iterator[ProgressUpdate]:
    """A progress bar on standard error, drawn only when that is a terminal and the total is at
    least ``show_from``.  Yields ``update(done, total, description="")``; the bar is gone on exit."""
    state: dict[str, Any] = {}

    def update(done: int, total: int | None, description: str = "") -> None:
        if "bar" not in state:
            if total is not None and total < show_from:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(stderr=True)
            if not console.is_terminal:
                state["bar"] = None
                return
            literal = label.replace("{", "{{").replace("}", "}}")  # the column formats its text
            bar = Progress(TextColumn(literal, style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TextColumn("{task.description}", markup=False), console=console,
                           transient=True)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(description, total=total)
        if state["bar"] is not None:
            state["bar"].update(state["task"], completed=done, total=total, description=description)

    try:
        yield update
    finally:
        if state.get("bar") is not None:
            state["bar"].stop()
