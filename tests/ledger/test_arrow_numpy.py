"""``storage.arrow_numpy`` reads an Arrow column from its buffers (so that ``verify`` loads no
pandas) and gives what pyarrow's own ``to_numpy`` gives, for every type the ledger reads that
way, at any offset, in any chunking, with NULLs where the column may hold them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasts.ledger.storage import arrow_numpy

TIMES = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2300, 1, 1))
VALUES = {
    pa.int64(): st.integers(-(2**63), 2**63 - 1),
    pa.int32(): st.integers(-(2**31), 2**31 - 1),
    pa.float64(): st.floats(allow_nan=False),
    pa.bool_(): st.booleans(),
    pa.timestamp("us"): TIMES,
    pa.string(): st.text(max_size=5),
}
NULLABLE = (pa.timestamp("us"), pa.string())


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    if got.dtype != want.dtype or got.shape != want.shape:
        return False
    if got.dtype.kind == "M":
        return bool(np.array_equal(np.isnat(got), np.isnat(want)) and (got[~np.isnat(got)] == want[~np.isnat(want)]).all())
    return got.tolist() == want.tolist()


@pytest.mark.parametrize("kind", list(VALUES), ids=str)
@given(data=st.data())
def test_arrow_numpy_is_to_numpy(kind, data):
    value = VALUES[kind]
    if kind in NULLABLE:
        value = st.none() | value
    parts = data.draw(st.lists(st.lists(value, max_size=12), max_size=3))
    chunks = [pa.array(p, type=kind) for p in parts]
    start = data.draw(st.integers(0, 3))
    chunks = [c.slice(min(start, len(c))) for c in chunks]  # offsets into each buffer
    column = pa.chunked_array(chunks, type=kind)
    assert _same(arrow_numpy(column), column.to_numpy(zero_copy_only=False))
    for c in chunks:
        assert _same(arrow_numpy(c), c.to_numpy(zero_copy_only=False))


def test_nulls_in_numbers_are_refused_unless_asked_for():
    column = pa.array([1, None, 3], type=pa.int32())
    with pytest.raises(ValueError, match="1 NULLs"):
        arrow_numpy(column)
    got = arrow_numpy(column, nulls=True)
    assert got.dtype == np.int32 and got[[0, 2]].tolist() == [1, 3]


def test_a_type_with_no_plain_form_is_refused():
    with pytest.raises(ValueError, match="no plain numpy form"):
        arrow_numpy(pa.array([[1]]))
