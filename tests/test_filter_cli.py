"""convnet filter: named/custom kernels, the gallery, and clean errors (exit 2, no traceback)."""
import argparse
import os
import subprocess
import sys

import numpy as np
import pytest

from convnet.cli import filter as filter_cli

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


@pytest.fixture
def photo(tmp_path):
    """A 12x10 (H x W) grayscale PNG with a vertical step edge at column 5."""
    arr = np.zeros((12, 10), dtype=np.uint8)
    arr[:, 5:] = 200
    path = tmp_path / "photo.png"
    Image.fromarray(arr).save(path)
    return path


def _run(argv):
    return filter_cli.main([str(a) for a in argv])


def test_named_kernel_same_size_and_edge_only(photo, tmp_path):
    out = tmp_path / "edges.png"
    assert _run(["sobel_x", photo, "-o", out]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (12, 10) and img.dtype == np.uint8
    assert img[1:-1, 4:6].min() == 255  # top/bottom rows see 3/4 of the edge (zero padding)
    assert img[1:-1, :3].max() == 0 and img[1:-1, 7:9].max() == 0  # col 9: the zero padding's edge


def test_valid_padding_and_stride_shrink(photo, tmp_path):
    out = tmp_path / "v.png"
    assert _run(["laplacian", photo, "-o", out, "--padding", "valid", "--stride", "2"]) == 0
    assert Image.open(out).size == (4, 5)  # PIL size is (W, H): floor((10-3)/2)+1, floor((12-3)/2)+1


def test_custom_kernel_and_color(photo, tmp_path, capsys):
    out = tmp_path / "custom.png"
    assert _run(["--kernel", "1,0,-1;1,0,-1;1,0,-1", photo, "-o", out]) == 0
    assert Image.open(out).size == (10, 12)
    assert _run(["--kernel=-1,0,1;-2,0,2;-1,0,1", photo, "-o", out, "--scale", "minmax"]) == 0
    assert "wrote" in capsys.readouterr().out
    out_rgb = tmp_path / "blur.png"
    assert _run(["gaussian5", photo, "--color", "--scale", "clip", "-o", out_rgb]) == 0
    assert Image.open(out_rgb).mode == "RGB"


def test_default_output_name(photo):
    assert _run(["box", photo]) == 0
    assert os.path.exists(str(photo).replace(".png", "_box.png"))


def test_gallery(photo, tmp_path):
    out = tmp_path / "gallery.png"
    assert _run(["--gallery", photo, "-o", out]) == 0
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 200


def test_list(capsys):
    assert _run(["--list"]) == 0
    text = capsys.readouterr().out
    assert "sobel_x" in text and "-1,0,1;-2,0,2;-1,0,1" in text


@pytest.mark.parametrize("argv,msg", [
    (["sobol", "{photo}"], "unknown kernel 'sobol'"),
    (["--kernel", "1,0;1", "{photo}"], "same number of entries"),
    (["--kernel", "1,x", "{photo}"], "'x'"),
    (["sobel_x", "{missing}"], "missing.png"),
    (["sobel_x", "{junk}"], "junk.png"),
    (["{photo}"], "expected KERNEL IMAGE"),
    (["sobel_x", "{photo}", "--padding", "lots"], "--padding"),
    (["gaussian5", "{tiny}", "--padding", "valid"], "does not fit"),
])
def test_errors_exit_2_without_traceback(argv, msg, photo, tmp_path, capsys):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"definitely not a png")
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tiny)
    paths = dict(photo=photo, missing=tmp_path / "missing.png", junk=junk, tiny=tiny)
    assert _run([a.format(**paths) for a in argv] + ["-o", tmp_path / "o.png"]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and err.startswith("convnet filter: error:")


def test_add_parser_registers_subcommand(photo, tmp_path):
    parser = argparse.ArgumentParser(prog="convnet")
    sub = parser.add_subparsers(dest="command")
    filter_cli.add_parser(sub)
    args = parser.parse_args(["filter", "edge", str(photo), "-o", str(tmp_path / "e.png")])
    assert args.func is filter_cli.run and filter_cli.run(args) == 0
    assert (tmp_path / "e.png").exists()
    help_text = sub.choices["filter"].format_help()
    assert "examples:" in help_text and "convnet filter sobel_x photo.png -o edges.png" in help_text
    assert "--gallery" in help_text and "minmax" in help_text


def test_module_entry_point_bad_path(tmp_path):
    missing = tmp_path / "no_such_photo.png"
    proc = subprocess.run([sys.executable, "-m", "convnet.cli.filter", "sobel_x", str(missing)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no_such_photo.png" in proc.stderr and "Traceback" not in proc.stderr
