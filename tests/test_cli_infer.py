"""Hostile input to ``convnet predict / eval / summary``: a batch with bad, blank, transparent and
oversized images; out-of-range options; a missing --data-dir; a dataset the checkpoint was not
trained on; impossible --input-shape values. Each user error is one stderr line and exit 2."""
import re

import numpy as np
import pytest
from PIL import Image

from convnet import data
from convnet.cli.main import main
from convnet.data.idx import write_idx


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("infer") / "run"
    assert main(["train", "--epochs", "3", "--batch-size", "64", "--out", str(out), "--no-progress"]) == 0
    return out


def _digit_images(folder, count=6):
    """Test-set digits drawn dark on white (64x64 PNG), and the same ink on a transparent background."""
    raw = data.digits("test", size=8, normalize=False)
    paths, alpha_paths, truth = [], [], []
    for i in range(count):
        ink = raw.images[i, 0] / raw.images[i, 0].max()  # (8, 8) in [0, 1]
        ink = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize((64, 64), Image.NEAREST))
        Image.fromarray(255 - ink).save(folder / f"d{i}.png")
        rgba = np.zeros((64, 64, 4), np.uint8)
        rgba[..., 3] = ink  # black ink, alpha = ink: invisible to a reader that ignores alpha
        Image.fromarray(rgba, "RGBA").save(folder / f"t{i}.png")
        paths.append(folder / f"d{i}.png")
        alpha_paths.append(folder / f"t{i}.png")
        truth.append(raw.classes[int(raw.labels[i])])
    return paths, alpha_paths, truth


def png_header_only(path, width, height):
    """A PNG whose header declares ``width x height`` (8-bit grey) with a one-row IDAT."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
                     + chunk(b"IEND", b""))
    return path


def _predicted(out):
    return {line.split(": ")[0]: line.split(": ")[1].split(" (")[0] for line in out.strip().splitlines()}


def test_predict_mixed_batch_reports_bad_files_and_goes_on(capsys, run_dir, tmp_path):
    paths, alpha_paths, truth = _digit_images(tmp_path)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((20, 20), 255, np.uint8)).save(blank)
    code, out, err = _run(capsys, "predict", run_dir, paths[0], bad, *paths[1:], *alpha_paths, blank,
                          tmp_path / "missing.png", "--top-k", "2")
    assert code == 2
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 2 and str(bad) in errors[0] and "missing.png" in errors[1]
    assert all(line.startswith("convnet predict: error: cannot read image") for line in errors)
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(warnings) == 1 and str(blank) in warnings[0] and "no ink found" in warnings[0]
    got = _predicted(out)
    assert len(got) == 2 * len(paths) + 1 and "broken.png" not in got
    hits = sum(got[p.name] == t for p, t in zip(paths, truth))
    assert hits >= len(paths) - 1, (got, truth)  # a 3-epoch LeNet-5 on clear test digits
    # the transparent-background copies are read as the same drawing: same classes as the opaque ones
    assert [got[p.name] for p in alpha_paths] == [got[p.name] for p in paths]
    assert "[blank image: no ink found]" in out.splitlines()[-1]


def test_predict_all_good_exits_zero_and_oversized_is_one_line(capsys, run_dir, tmp_path):
    paths, _, _ = _digit_images(tmp_path, 2)
    code, out, err = _run(capsys, "predict", run_dir, *paths)
    assert code == 0 and err == "" and len(out.strip().splitlines()) == 2
    huge = png_header_only(tmp_path / "huge.png", 20000, 20000)
    code, out, err = _run(capsys, "predict", run_dir, huge, paths[0])
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert str(huge) in err and "400,000,000 pixels" in err and "Traceback" not in err
    assert out.startswith("d0.png: ")


@pytest.mark.parametrize("cmd", ["predict", "eval"])
@pytest.mark.parametrize("k, message", [("0", "--top-k must be at least 1, received 0"),
                                        ("-1", "--top-k must be at least 1, received -1"),
                                        ("11", r"--top-k must be at most the number of classes \(10\), received 11")])
def test_top_k_out_of_range(capsys, run_dir, tmp_path, cmd, k, message):
    Image.fromarray(np.eye(8, dtype=np.uint8) * 255).save(tmp_path / "x.png")
    extra = [tmp_path / "x.png"] if cmd == "predict" else []
    code, out, err = _run(capsys, cmd, run_dir, *extra, "--top-k", k)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert re.search(f"^convnet {cmd}: error: {message}$", err.strip()), err


def test_eval_missing_data_dir_is_named(capsys, run_dir, tmp_path):
    code, out, err = _run(capsys, "eval", run_dir, "--dataset", "mnist", "--data-dir", tmp_path / "datsets")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("convnet eval: error: --data-dir ") and "datsets does not exist" in err


def test_eval_warns_when_the_dataset_differs_from_the_checkpoints(capsys, run_dir, tmp_path):
    """A digits model evaluated on (here: 20 generated) MNIST images: one warning line, then the numbers."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 20))
    code, out, err = _run(capsys, "eval", run_dir, "--dataset", "mnist", "--data-dir", tmp_path)
    assert code == 0 and "mnist test: 20 images" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convnet eval: warning: the checkpoint was trained on digits "
                                                   "but is evaluated on mnist")
    code, out, err = _run(capsys, "eval", run_dir, "--top-k", "10")
    assert code == 0 and err == "" and "top-10 accuracy 100.00%" in out  # its own dataset: no warning


@pytest.mark.parametrize("shape, message", [
    ("3,100000,100000", r"--input-shape 3,100000,100000 is too large: resnet18's layer outputs would need "
                        r"about [\d,.]+ GiB \(the input alone 111.8 GiB\), more than the 4.0 GiB limit"),
    ("224,224", r"--input-shape must be C,H,W \(three positive ints, e.g. 3,224,224\), got '224,224'"),
    ("3,0,224", "--input-shape must be positive ints"),
    ("3,a,224", "--input-shape must look like '3,224,224'"),
    ("3,8,8", "--input-shape 3,8,8 does not fit"),
])
def test_summary_input_shape_errors_name_the_option(capsys, shape, message):
    model = "resnet18" if "100000" in shape or "224" in shape else "lenet5"
    code, out, err = _run(capsys, "summary", model, "--input-shape", shape)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert re.search(f"^convnet summary: error: {message}", err.strip()), err


def test_mismatch_reasons():
    """The eval warning also covers a different normalisation or image size on the same dataset."""
    from convnet.cli.infer import _mismatch

    ds = data.digits("test", size=32)
    meta = {"dataset": "digits", "normalization": ds.normalization, "input_shape": list(ds.input_shape)}
    assert _mismatch(meta, "digits", ds) is None
    other = dict(meta, normalization={"mean": [0.1307], "std": [0.3081]})
    assert "input normalisation" in _mismatch(other, "digits", ds)
    assert "input normalisation" in _mismatch(dict(meta, normalization=None), "digits", ds)
    assert "input shape (1, 28, 28)" in _mismatch(dict(meta, input_shape=[1, 28, 28]), "digits", ds)
    assert "trained on mnist" in _mismatch(dict(meta, dataset="mnist"), "digits", ds)
