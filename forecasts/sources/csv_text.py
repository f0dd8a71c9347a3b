"""CSV text made a column at a time, for the exporters that write millions of rows (hubverse,
Fatebook).

A number column is formatted once per distinct value, told apart by its bits (so ``-0.0`` and
``0.0`` keep their own text), then spread back over the rows; the cells of a line are joined by
pyarrow, so no Python string is made per row; the lines of a file are one block of bytes, cut
out of the joined column by its offsets and written with one system call per file."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

#: Rows formatted at a time: enough that the per-block work is nothing, few enough that the
#: block's text stays in memory the processor keeps close (larger blocks were slower).
BLOCK_ROWS = 200_000


def distinct_text(values: Any, text: Callable[[float], str]) -> Any:
    """``text(v)`` for every value of a float column, computed once per distinct value (by its
    bits): a pyarrow ``large_string`` array, row for row.

    >>> import numpy as np
    >>> distinct_text(np.array([0.5, 0.1, 0.5, -0.0]), repr).to_pylist()
    ['0.5', '0.1', '0.5', '-0.0']
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    codes, distinct = pd.factorize(bits)
    table = pa.array([text(v) for v in distinct.view(np.float64).tolist()], pa.large_string())
    return table.take(pa.array(codes))


def joined(*cells: Any) -> Any:
    """The cells of each row (pyarrow string arrays of one length, or plain strings for a cell
    the same on every row) joined end to end, with nothing between them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    args = [pa.scalar(c, text) if isinstance(c, str) else c.cast(text) for c in cells]
    return pc.call_function("binary_join_element_wise", [*args, pa.scalar("", text)])


def text_block(column: Any) -> tuple[memoryview, Any]:
    """The bytes of a pyarrow string column's values back to back, and the ``len + 1`` offsets
    where each value starts (value ``i`` is ``block[offsets[i]:offsets[i + 1]]``): no copy."""
    import numpy as np
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    _, offsets, data = column.buffers()
    starts = np.frombuffer(offsets, dtype=width)[column.offset: column.offset + len(column) + 1]
    return memoryview(data if data is not None else b""), starts


def write_file(path: str, data: bytes) -> None:
    """Create (or empty) the file ``path`` and write ``data`` into it: one open, one write (more
    only if the system takes the bytes in pieces) and one close, no Python file object."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        done = os.write(fd, data)
        while done < len(data):
            done += os.write(fd, memoryview(data)[done:])
    finally:
        os.close(fd)
