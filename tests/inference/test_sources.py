"""The batched readers behind `genreg apply`: every row once, in order, in batches of at most B."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genreg.errors import UsageError
from genreg.inference.sources import _rows_in_order, open_source


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), chunk=st.integers(1, 17), size=st.integers(1, 23), data=st.data())
def test_rebatching_keeps_the_selected_rows_in_order(n, chunk, size, data):
    rows = np.arange(n * 2).reshape(n, 2)
    keep = data.draw(st.none() | st.lists(st.integers(0, n - 1), min_size=1, unique=True).map(sorted).map(np.array))
    chunks = (rows[i:i + chunk] for i in range(0, n, chunk))
    batches = list(_rows_in_order(chunks, keep, size))
    assert all(1 <= len(b) <= size for b in batches)
    assert all(len(b) == size for b in batches[:-1])  # only the last batch is short
    np.testing.assert_array_equal(np.concatenate(batches), rows if keep is None else rows[keep])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), width=st.integers(5, 30), dtype=st.sampled_from(["float32", "float64", "int16", "uint8"]),
       compressed=st.booleans(), size=st.integers(1, 50), fortran=st.booleans())
def test_npz_members_stream_as_np_load_reads_them(n, width, dtype, compressed, size, fortran):
    x = (np.random.default_rng(n).random((n, width)) * 100).astype(dtype)
    if fortran:
        x = np.asfortranarray(x)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.npz"
        (np.savez_compressed if compressed else np.savez)(path, x=x, other=np.zeros(3))
        source = open_source(f"npz:{path}", {})
        assert source.n == n and source.raw_shape == (width,) and source.layout == "channel"
        batches = list(source.batches(size))
        assert max(len(b) for b in batches) <= size
        np.testing.assert_array_equal(np.concatenate(batches), x)


def test_npy_split_selects_the_training_partition(tmp_path):
    from genreg.data.files import split_indices

    x = np.arange(200, dtype=np.float32).reshape(20, 10)
    np.save(tmp_path / "a.npy", x)
    source = open_source(f"npy:{tmp_path / 'a.npy'}", {"split": "train", "test_fraction": "0.25"})
    got = np.concatenate(list(source.batches(3)))
    np.testing.assert_array_equal(got, x[split_indices(20, "train", 0.25, 0, None)])


def test_unreadable_files_are_one_line_errors(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((50, 10), np.float32))
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(UsageError, match="npz: cannot read"):
        open_source(f"npz:{tmp_path / 'cut.npz'}", {})
    np.save(tmp_path / "x.npy", np.zeros((4, 10), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(3, np.int64))
    with pytest.raises(UsageError, match=r"label file must have shape \(4,\)"):
        open_source(f"npy:{tmp_path / 'x.npy'}", {"y_path": str(tmp_path / "y.npy")})
    with pytest.raises(UsageError, match="seed='x' is not an integer"):
        open_source("radio", {"seed": "x"})
    with pytest.raises(UsageError, match="not supported here"):
        open_source(f"npz:{tmp_path / 'a.npz'}", {"nonfinite": "drop"})
