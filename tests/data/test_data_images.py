"""Image files -> model inputs for `convnet predict`: the digits recipe reproduces data.digits exactly."""
import numpy as np
import pytest
from PIL import Image

from convnet import data
from convnet.data.images import (MAX_IMAGE_PIXELS, has_ink, load_image_batch, load_images, prepare_image,
                                 read_image)
from convnet.errors import FileFormatError


def _centred_index(raw):
    """A digit whose ink spans all 8 rows and is horizontally centred, with nothing outside its box.

    The UCI bitmaps are height-normalised and centred (ink always spans the rows, usually
    columns 1-6), so cropping such a digit to its ink and padding it back to a square is a no-op.
    """
    for i, img in enumerate(raw):
        ink = img[0] > 0.2 * img.max()
        r, c = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        outside = img[0].copy()
        outside[:, c[0]:c[-1] + 1] = 0
        if r[0] == 0 and r[-1] == 7 and c[0] == 7 - c[-1] and not outside.any():
            return i
    raise AssertionError("no centred digit")


def test_digits_recipe_reproduces_training_images(tmp_path):
    raw8 = data.digits("test", size=8, normalize=False).images
    i = _centred_index(raw8)
    ref = data.digits("test", size=32)
    # what a user might have: the digit scanned at 4x, dark ink on white paper, as a PNG
    paper = (255 - np.round(raw8[i, 0] * 16) * 255 / 16).astype(np.uint8)
    path = tmp_path / "scan.png"
    Image.fromarray(paper).resize((32, 32), Image.NEAREST).save(path)
    x = load_image_batch([path], (1, 32, 32), ref.normalization, recipe="digits")
    np.testing.assert_allclose(x[0], ref.images[i], atol=0.02)  # 8-bit PNG quantisation: 1/255 / std


def test_mnist_recipe_centres_the_ink_in_20x20():
    img = np.zeros((1, 100, 60), np.float32)
    img[0, 10:90, 5:25] = 1.0  # a tall bar off to the left
    out = prepare_image(img, (1, 32, 32), recipe="mnist", invert="no")
    assert out.shape == (1, 32, 32)
    ink = out[0] > 0.1
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 <= 7
    cy, cx = np.argwhere(ink).mean(axis=0)
    assert abs(cy - 15.5) <= 1 and abs(cx - 15.5) <= 1


def test_auto_invert_and_resize_rgb():
    white = np.ones((3, 10, 10), np.float32)
    white[:, 4:6, 4:6] = 0.0  # dark dot on white
    out = prepare_image(white, (3, 5, 5), recipe="resize")
    assert out.shape == (3, 5, 5) and out[:, 0, 0].max() < 0.05 and out[:, 2, 2].min() > 0.5
    assert prepare_image(white, (1, 10, 10), recipe="resize", invert="no")[0, 0, 0] == 1.0


def test_unreadable_files_are_named(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("no pixels here")
    with pytest.raises(FileFormatError, match=f"cannot read image {bad}"):
        load_image_batch([bad], (1, 32, 32))
    with pytest.raises(FileNotFoundError, match="missing.png: no such file"):
        load_image_batch([tmp_path / "missing.png"], (1, 32, 32))
    with pytest.raises(ValueError, match="recipe must be one of"):
        prepare_image(np.zeros((1, 4, 4)), (1, 4, 4), recipe="magic")


def png_header_only(path, width, height):
    """A PNG whose header declares ``width x height`` (8-bit grey) with a one-row IDAT: opening it
    reads only the header, so a huge declared size costs nothing until it is decoded."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def _digit_mask():
    """A 32x32 ink mask in [0, 1]: a real test digit upscaled (ink = 1)."""
    raw = data.digits("test", size=8, normalize=False).images[5, 0]
    return np.asarray(Image.fromarray((raw / raw.max() * 255).astype(np.uint8)).resize((32, 32), Image.NEAREST),
                      np.float32) / 255


@pytest.mark.parametrize("ink", ["dark", "light"])
def test_transparent_background_is_composited_like_the_opaque_image(tmp_path, ink):
    """A digit drawn on alpha 0 reads like the same digit on opaque paper: dark ink on white,
    light ink on black. (It used to read as blank and be predicted '1 (100%)'.)"""
    mask = _digit_mask()
    colour = 0 if ink == "dark" else 255
    rgba = np.zeros((32, 32, 4), np.uint8)  # transparent pixels are black (0, 0, 0, 0), as drawing programs leave them
    rgba[..., :3] = colour
    rgba[..., 3] = np.round(mask * 255).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    paper = 255.0 if ink == "dark" else 0.0
    opaque = np.round(mask * colour + (1 - mask) * paper).astype(np.uint8)  # the same drawing on opaque paper
    Image.fromarray(opaque).save(tmp_path / "opaque.png")
    got, ref = read_image(tmp_path / "alpha.png"), read_image(tmp_path / "opaque.png")
    np.testing.assert_allclose(got, ref, atol=1 / 255 + 1e-6)
    assert has_ink(got)
    for recipe in ("digits", "mnist"):
        np.testing.assert_allclose(load_image_batch([tmp_path / "alpha.png"], (1, 32, 32), recipe=recipe),
                                   load_image_batch([tmp_path / "opaque.png"], (1, 32, 32), recipe=recipe), atol=0.01)
    la = np.stack([np.full((32, 32), colour, np.uint8), rgba[..., 3]], axis=2)  # grey + alpha (mode LA)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    np.testing.assert_allclose(read_image(tmp_path / "la.png"), ref, atol=1 / 255 + 1e-6)


def test_16_bit_png_is_scaled_by_its_bit_depth(tmp_path):
    """A 16-bit grey PNG (Pillow mode I;16) holds 0..65535: it reads like the 8-bit image it came from."""
    img8 = (np.linspace(0, 255, 24 * 20).reshape(24, 20)).astype(np.uint8)
    Image.fromarray(img8).save(tmp_path / "eight.png")
    Image.fromarray(img8.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    with Image.open(tmp_path / "sixteen.png") as im:
        assert im.mode.startswith("I")  # the case being tested
    got = read_image(tmp_path / "sixteen.png")
    np.testing.assert_allclose(got, img8[None] / 255.0, atol=1e-6)
    np.testing.assert_allclose(got, read_image(tmp_path / "eight.png"), atol=1e-6)
    assert read_image(tmp_path / "sixteen.png", channels=3).shape == (3, 24, 20)


def test_blank_images_are_flagged(tmp_path):
    Image.fromarray(np.full((16, 16), 255, np.uint8)).save(tmp_path / "white.png")
    Image.fromarray(np.zeros((16, 16, 4), np.uint8), "RGBA").save(tmp_path / "clear.png")  # fully transparent
    dot = np.full((16, 16), 255, np.uint8)
    dot[7:9, 7:9] = 0
    Image.fromarray(dot).save(tmp_path / "dot.png")
    for name, inked in (("white.png", False), ("clear.png", False), ("dot.png", True)):
        assert has_ink(read_image(tmp_path / name)) is inked, name
    batch = load_images([tmp_path / n for n in ("white.png", "dot.png", "clear.png")], (1, 8, 8))
    assert batch.blank == [tmp_path / "white.png", tmp_path / "clear.png"] and batch.x.shape == (3, 1, 8, 8)


@pytest.mark.parametrize("size", [(20000, 20000), (8000, 8000)])
def test_oversized_images_are_refused_before_decoding(tmp_path, size):
    """20000x20000 used to raise Pillow's DecompressionBombError traceback; 8000x8000 (64 MP) is
    under Pillow's limit and would have been decoded. Both: FileFormatError naming file and pixel count."""
    path = png_header_only(tmp_path / "huge.png", *size)
    assert size[0] * size[1] > MAX_IMAGE_PIXELS
    with pytest.raises(FileFormatError, match=rf"{path}: it has {size[0] * size[1]:,} pixels"):
        read_image(path)
    ok = png_header_only(tmp_path / "ok.png", 64, 8)
    assert read_image(ok).shape == (1, 8, 64)


def test_load_images_keeps_going_past_bad_files(tmp_path):
    Image.fromarray(np.eye(12, dtype=np.uint8) * 255).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    paths = [tmp_path / "bad.png", tmp_path / "good.png", tmp_path / "missing.png"]
    batch = load_images(paths, (1, 12, 12), recipe="resize", invert="no")
    assert batch.paths == [tmp_path / "good.png"] and batch.x.shape == (1, 1, 12, 12)
    np.testing.assert_allclose(batch.x[0, 0], np.eye(12))
    assert [p for p, _ in batch.failed] == [tmp_path / "bad.png", tmp_path / "missing.png"]
    assert all(str(p) in msg for p, msg in batch.failed)
