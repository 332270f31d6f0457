"""The langid-gnu reader: a small file the test writes, hostile files, and the real files when present."""
import gzip
import os

import numpy as np
import pytest

from convnet import data
from convnet.data.langid import LANGUAGES, read_langid_tsv
from convnet.errors import FileFormatError

REAL = os.path.join(os.environ.get("CONVNET_DATA", "/nonexistent"), "langid-gnu")


def test_reader_on_a_small_file(langid_dir):
    train = data.langid_gnu("train", root=langid_dir)
    assert len(train) == 120 and train.classes == list(LANGUAGES)
    assert np.bincount(train.targets).tolist() == [60, 60]  # de = 0, fr = 1
    text, label = train[60]
    assert label == 1 and isinstance(text, str) and train.sources[0] == "prog-train"
    assert len(data.langid_gnu("train", root=langid_dir, limit=5)) == 10
    splits = data.load_splits("langid-gnu", root=langid_dir)
    assert [len(splits[k]) for k in ("train", "val", "test")] == [108, 12, 40]
    assert data.is_text("langid_gnu") and not data.is_text("mnist")


def _write(path, content):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(content)
    return path


@pytest.mark.parametrize("content, match", [
    ("lang\tsource\ttext\nde\tx\tHallo Welt\n", "header lacks"),
    ("language\tsource\ttext\nxx\tx\tHallo Welt\n", "unknown language 'xx'"),
    ("language\tsource\ttext\nde\tx\t" + "a" * 20000 + "\n", "malformed"),
    ("language\tsource\ttext\nde\tx\t\n", "empty text"),
])
def test_reader_refuses_bad_files_naming_them(tmp_path, content, match):
    path = _write(tmp_path / "bad.tsv.gz", content)
    with pytest.raises(FileFormatError, match=match) as e:
        read_langid_tsv(str(path))
    assert "bad.tsv.gz" in str(e.value)


def test_reader_refuses_a_file_that_is_not_gzip(tmp_path):
    path = tmp_path / "x.tsv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(FileFormatError, match="x.tsv.gz"):
        read_langid_tsv(str(path))


def test_missing_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="langid-gnu"):
        data.langid_gnu("train", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        data.langid_gnu("val", root=tmp_path)


@pytest.mark.skipif(not os.path.isdir(REAL), reason="$CONVNET_DATA/langid-gnu not present")
def test_real_files_counts():
    train, test = data.langid_gnu("train"), data.langid_gnu("test")
    assert (len(train), len(test)) == (56000, 11200)
    assert np.bincount(train.targets).tolist() == [4000] * 14
    assert np.bincount(test.targets).tolist() == [800] * 14
    assert not set(train.sources) & set(test.sources)  # split by program
