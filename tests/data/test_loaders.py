"""Loaders: numeric CSV, .npz and IDX files written by the tests."""

import gzip

import numpy as np
import pytest

from chainrule.data import load_csv, load_idx, load_npz, save_idx


def _write(path, text):
    path.write_text(text)
    return path


def test_csv_with_header_and_target_by_name_index_or_default(tmp_path):
    p = _write(tmp_path / "d.csv", "a,label,b\n1,0,2.5\n3,1,4\n\n5,1,6\n")
    X, y = load_csv(p, target="label")
    assert X.dtype == np.float32 and X.tolist() == [[1, 2.5], [3, 4], [5, 6]]
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 1]
    X, y = load_csv(p, target=0)
    assert y.tolist() == [1, 3, 5] and X[:, 1].tolist() == [2.5, 4, 6]
    X, y = load_csv(p)  # default: the last column; non-integers stay float
    assert y.dtype == np.float32 and y.tolist() == [2.5, 4, 6]
    X, y = load_csv(p, target="1")  # a numeric string that is not a column name is an index
    assert y.tolist() == [0, 1, 1]


def test_csv_without_header_and_other_delimiters(tmp_path):
    p = _write(tmp_path / "d.tsv", "1\t2\t0\n3\t4\t1\n")
    X, y = load_csv(p, header=False, delimiter="\t")
    assert X.tolist() == [[1, 2], [3, 4]] and y.tolist() == [0, 1]


def test_non_numeric_cell_names_file_row_and_column(tmp_path):
    p = _write(tmp_path / "bad.csv", "x1,x2,y\n1,2,0\n3,abc,1\n")
    with pytest.raises(ValueError) as e:
        load_csv(p)
    msg = str(e.value)
    assert str(p) in msg and "row 3" in msg and "column 2 ('x2')" in msg and "'abc'" in msg
    p = _write(tmp_path / "nan.csv", "x,y\nnan,0\n")
    with pytest.raises(ValueError, match="row 2, column 1"):
        load_csv(p)


def test_csv_structure_errors(tmp_path):
    with pytest.raises(ValueError, match="row 3: has 2 columns, expected 3"):
        load_csv(_write(tmp_path / "r.csv", "a,b,c\n1,2,3\n1,2\n"))
    with pytest.raises(ValueError, match="is empty"):
        load_csv(_write(tmp_path / "e.csv", ""))
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(_write(tmp_path / "h.csv", "a,b\n"))
    with pytest.raises(ValueError, match="no column named 'z'"):
        load_csv(_write(tmp_path / "t.csv", "a,b\n1,2\n"), target="z")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_csv(tmp_path / "missing.csv")


def test_npz_round_trip_and_key_errors(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.ones((4, 3)), y=np.arange(4))
    X, y = load_npz(p)
    assert X.shape == (4, 3) and y.tolist() == [0, 1, 2, 3]
    np.savez(tmp_path / "other.npz", feats=np.ones((2, 2)), t=np.zeros(2))
    X, y = load_npz(tmp_path / "other.npz", x_key="feats", y_key="t")
    assert X.shape == (2, 2)
    with pytest.raises(KeyError, match="has no X array"):
        load_npz(tmp_path / "other.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(ValueError, match="obj.npz"):
        load_npz(tmp_path / "obj.npz")  # object arrays would need pickle: refused


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
def test_idx_round_trip(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    save_idx(tmp_path / "a.idx", a)
    b = load_idx(tmp_path / "a.idx")
    assert b.dtype == np.dtype(dtype) and np.array_equal(a, b)


def test_idx_reads_the_mnist_layout_and_gzip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    header = bytes([0, 0, 0x08, 3]) + np.array([3, 28, 28], ">u4").tobytes()
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    assert np.array_equal(load_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    labels = np.array([7, 2, 1], np.uint8)
    (tmp_path / "labels").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3]) + labels.tobytes())
    assert load_idx(tmp_path / "labels").tolist() == [7, 2, 1]


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x89PNG\r\n")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_idx(tmp_path / "bad")
    save_idx(tmp_path / "t.idx", np.zeros((4, 4), np.float32))
    raw = (tmp_path / "t.idx").read_bytes()
    (tmp_path / "t.idx").write_bytes(raw[:-3])
    with pytest.raises(ValueError, match="needs"):
        load_idx(tmp_path / "t.idx")
    with pytest.raises(TypeError, match="IDX stores"):
        save_idx(tmp_path / "c.idx", np.zeros(2, np.complex64))
