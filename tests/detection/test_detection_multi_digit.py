"""data.multi_digit: determinism, boxes inside the canvas and tight around the ink, labels, split disjointness."""
import numpy as np
import pytest
from detection_fakes import level_of_test_digit, level_of_train_digit

from convnet import data


def _make(fake_mnist, split="train", n=40, seed=0, **kw):
    return data.multi_digit(split, n, seed=seed, root=fake_mnist, download=False, **kw)


def test_same_seed_same_canvases_other_seed_differs(fake_mnist):
    a, b, c = _make(fake_mnist), _make(fake_mnist), _make(fake_mnist, seed=1)
    np.testing.assert_array_equal(a.images, b.images)
    for ta, tb in zip(a.targets, b.targets):
        np.testing.assert_array_equal(ta["boxes"], tb["boxes"])
        np.testing.assert_array_equal(ta["labels"], tb["labels"])
    assert not np.array_equal(a.images, c.images)


def test_shapes_counts_and_sample(fake_mnist):
    ds = _make(fake_mnist, n=30, canvas=64, digits=(2, 3))
    assert ds.images.shape == (30, 1, 64, 64) and ds.images.dtype == np.float32
    counts = [len(t["labels"]) for t in ds.targets]
    assert min(counts) >= 1 and max(counts) <= 3 and np.mean(counts) > 1.8
    image, target = ds[3]
    assert image.shape == (1, 64, 64) and target["boxes"].dtype == np.float32 and target["labels"].dtype == np.int64


def test_boxes_inside_canvas_tight_around_ink_and_sizes(fake_mnist):
    ds = _make(fake_mnist, n=40)
    for img, t in zip(ds.images[:, 0], ds.targets):
        covered = np.zeros(img.shape, bool)
        for x1, y1, x2, y2 in t["boxes"].astype(int):
            assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96
            assert 20 <= max(x2 - x1, y2 - y1) <= 40  # longer side scaled to 20-40 px
            patch = img[y1:y2, x1:x2]
            # ink touches all four sides of its box: the box is tight
            assert patch[0].any() and patch[-1].any() and patch[:, 0].any() and patch[:, -1].any()
            covered[y1:y2, x1:x2] = True
        assert not img[~covered].any()  # no ink outside the boxes


def _isolated_levels(ds):
    """(label, brightest grey level in its box) for every digit whose box overlaps no other box."""
    out = []
    for img, t in zip(ds.images[:, 0], ds.targets):
        b = t["boxes"].astype(int)
        for i, ((x1, y1, x2, y2), lab) in enumerate(zip(b, t["labels"])):
            others = np.delete(b, i, axis=0)
            if any(min(x2, o[2]) > max(x1, o[0]) and min(y2, o[3]) > max(y1, o[1]) for o in others):
                continue
            out.append((int(lab), int(round(img[y1:y2, x1:x2].max() * 255))))
    return out


@pytest.mark.parametrize("split, level", [("train", level_of_train_digit), ("test", level_of_test_digit)])
def test_labels_match_the_ink_and_splits_are_disjoint(fake_mnist, split, level):
    # the fake digits of class k are solid rectangles of grey level(k); train and test use disjoint levels
    pairs = _isolated_levels(_make(fake_mnist, split, n=40))
    assert len(pairs) > 40
    assert all(g == level(lab) for lab, g in pairs), pairs[:10]


def test_sources_index_the_split_and_labels_follow_them(fake_mnist):
    from convnet.data.mnist_files import load_idx_dataset

    for split in ("train", "test"):
        ds = _make(fake_mnist, split)
        _, labels = load_idx_dataset("mnist", split, root=fake_mnist, download=False)
        for src, t in zip(ds.sources, ds.targets):
            np.testing.assert_array_equal(labels[src], t["labels"])


def test_overlap_between_digits_is_bounded(fake_mnist):
    ds = _make(fake_mnist, n=40, digits=(4, 4))
    for t in ds.targets:
        b = t["boxes"]
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                iw = max(0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
                ih = max(0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
                small = min((b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1]), (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]))
                assert iw * ih / small <= 0.15 + 1e-6


@pytest.mark.parametrize("kwargs, match", [({"split": "val"}, "split"), ({"digits": (0, 2)}, "digits"),
                                           ({"canvas": 32}, "canvas")])
def test_bad_arguments_are_named(fake_mnist, kwargs, match):
    args = {"split": "train", "n_images": 2, "root": fake_mnist, "download": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.multi_digit(**args)
