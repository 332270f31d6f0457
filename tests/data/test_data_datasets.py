"""torchvision-style datasets (MNIST, CIFAR binary), PIL transforms, make_grid / save_image, cn.utils.data."""
import os

import numpy as np
import pytest
from PIL import Image

import convnet as cn
from convnet.data import datasets, transforms
from convnet.data.cifar import write_cifar_bin
from convnet.data.idx import write_idx
from convnet.data.utils import make_grid, save_image
from convnet.errors import FileFormatError
from helpers import assert_same


# ---------------------------------------------------------------- MNIST
@pytest.fixture
def mnist_root(tmp_path, rng, monkeypatch):
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    imgs = rng.integers(0, 256, (6, 28, 28)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9], np.uint8)
    write_idx(str(raw / "t10k-images-idx3-ubyte"), imgs)
    write_idx(str(raw / "t10k-labels-idx1-ubyte"), labels)
    return tmp_path, imgs, labels


def test_mnist_torchvision_layout_samples_and_attributes(mnist_root):
    root, imgs, labels = mnist_root
    ds = datasets.MNIST(str(root), train=False, download=False)
    assert len(ds) == 6 and ds.classes[3] == "3 - three"
    assert_same(ds.data, imgs)
    assert_same(ds.targets, labels.astype(np.int64))
    img, target = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "L" and type(target) is int and target == 4
    assert_same(np.asarray(img), imgs[2])
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    x, _ = datasets.MNIST(str(root), train=False, transform=tf, target_transform=lambda t: t * 10)[2]
    # torchvision's formulas, computed independently: (img / 255 - mean) / std in float32, shape (1, 28, 28)
    expected = ((imgs[2].astype(np.float32) / np.float32(255))[None] - np.float32(0.1307)) / np.float32(0.3081)
    assert_same(x, expected)
    assert datasets.MNIST(str(root), train=False, target_transform=lambda t: t * 10)[2][1] == 40


def test_mnist_missing_files_name_the_places(mnist_root):
    root, _, _ = mnist_root
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz.*CONVNET_DATA"):
        datasets.MNIST(str(root), train=True, download=False)


def test_fashion_mnist_classes(tmp_path, rng, monkeypatch):
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    d = tmp_path / "fashion-mnist"
    d.mkdir()
    write_idx(str(d / "train-images-idx3-ubyte"), rng.integers(0, 256, (2, 28, 28)).astype(np.uint8))
    write_idx(str(d / "train-labels-idx1-ubyte"), np.array([9, 0], np.uint8))
    ds = datasets.FashionMNIST(str(tmp_path))
    assert ds.classes[ds[0][1]] == "Ankle boot" and ds.classes[0] == "T-shirt/top"


# ---------------------------------------------------------------- CIFAR binary
def _write_cifar10(root, rng, n=3, folder="cifar-10-batches-bin"):
    d = os.path.join(root, folder)
    os.makedirs(d, exist_ok=True)
    out = {}
    for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
        imgs = rng.integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        # the official record layout, written by hand: label byte, then the R, G, B planes
        rec = np.concatenate([labels[:, None], imgs[..., 0].reshape(n, -1), imgs[..., 1].reshape(n, -1),
                              imgs[..., 2].reshape(n, -1)], axis=1)
        with open(os.path.join(d, name), "wb") as f:
            f.write(rec.tobytes())
        out[name] = (imgs, labels)
    with open(os.path.join(d, "batches.meta.txt"), "w") as f:
        f.write("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
    return d, out


def test_cifar10_reads_binary_records(tmp_path, rng, monkeypatch):
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    d, files = _write_cifar10(str(tmp_path), rng)
    train = datasets.CIFAR10(str(tmp_path), train=True)
    test = datasets.CIFAR10(str(tmp_path), train=False, transform=transforms.ToTensor())
    assert len(train) == 15 and len(test) == 3 and train.classes[1] == "automobile"
    assert_same(train.data, np.concatenate([files[f"data_batch_{k}.bin"][0] for k in range(1, 6)]))
    assert train.targets == np.concatenate([files[f"data_batch_{k}.bin"][1] for k in range(1, 6)]).tolist()
    img, y = train[4]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and type(y) is int
    assert_same(np.asarray(img), files["data_batch_2.bin"][0][1])
    x, _ = test[0]
    assert_same(x, files["test_batch.bin"][0][0].transpose(2, 0, 1).astype(np.float32) / np.float32(255))


def test_cifar100_fine_labels(tmp_path, rng):
    d = tmp_path / "cifar-100-binary"
    d.mkdir()
    imgs = rng.integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    write_cifar_bin(str(d / "test.bin"), imgs, np.array([[1, 77], [2, 5], [19, 99], [0, 0]]))
    (d / "fine_label_names.txt").write_text("\n".join(f"c{k}" for k in range(100)) + "\n")
    ds = datasets.CIFAR100(str(tmp_path), train=False)
    assert ds.targets == [77, 5, 99, 0] and ds.classes[77] == "c77"
    assert_same(np.asarray(ds[2][0]), imgs[2])


@pytest.mark.parametrize("cut", [1, 3074, -1])
def test_cifar_bad_file_size_is_file_format_error(tmp_path, rng, cut):
    d, _ = _write_cifar10(str(tmp_path), rng)
    path = os.path.join(d, "test_batch.bin")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:cut] if cut > 0 else data + b"\0")
    with pytest.raises(FileFormatError, match="test_batch.bin"):
        datasets.CIFAR10(str(tmp_path), train=False)


def test_cifar_bad_label_and_oversized_file(tmp_path, rng, monkeypatch):
    import convnet.data.cifar as cifar

    d, _ = _write_cifar10(str(tmp_path), rng)
    write_cifar_bin(os.path.join(d, "test_batch.bin"), np.zeros((2, 32, 32, 3), np.uint8), [1, 10])
    with pytest.raises(FileFormatError, match="test_batch.bin.*label 10"):
        datasets.CIFAR10(str(tmp_path), train=False)
    monkeypatch.setattr(cifar, "MAX_RECORDS", 1)
    with pytest.raises(FileFormatError, match="test_batch.bin.*more than"):
        datasets.CIFAR10(str(tmp_path), train=False)


def test_cifar_pickle_version_never_read_and_download_message(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="cifar-10-binary.tar.gz.*cifar-10-batches-bin"):
        datasets.CIFAR10(str(tmp_path), download=True)
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(FileNotFoundError, match="pickle.*BINARY"):
        datasets.CIFAR10(str(tmp_path))


# ---------------------------------------------------------------- transforms on PIL images
def test_to_tensor_and_normalize_follow_torchvision_formulas(rng):
    hwc = rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)
    t = transforms.ToTensor()(Image.fromarray(hwc))
    assert_same(t, hwc.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    n = transforms.Normalize((0.5, 0.25, 0.1), (0.5, 0.2, 0.3))(t)
    mean = np.array([0.5, 0.25, 0.1], np.float32)[:, None, None]
    std = np.array([0.5, 0.2, 0.3], np.float32)[:, None, None]
    assert isinstance(n, cn.Tensor)
    assert_same(n, (t.numpy() - mean) / std)
    with pytest.raises(TypeError, match="PIL"):
        transforms.Normalize((0.5,), (0.5,))(Image.fromarray(hwc))


def test_pil_transforms_return_pil_images(rng):
    hwc = rng.integers(0, 256, (10, 14, 3)).astype(np.uint8)
    img = Image.fromarray(hwc)
    out = transforms.CenterCrop(4)(img)
    assert isinstance(out, Image.Image) and out.mode == "RGB"
    assert_same(np.asarray(out), hwc[3:7, 5:9])  # top = round((10-4)/2) = 3, left = round((14-4)/2) = 5
    assert_same(np.asarray(transforms.RandomHorizontalFlip(1.0)(img)), hwc[:, ::-1])
    crop = transforms.RandomCrop(6, padding=2)(img, generator=np.random.default_rng(0))
    assert crop.size == (6, 6) and crop.mode == "RGB"
    padded = np.pad(hwc, ((2, 2), (2, 2), (0, 0)))
    windows = [padded[i:i + 6, j:j + 6] for i in range(10) for j in range(14)]
    assert any(np.array_equal(np.asarray(crop), w) for w in windows)
    r = transforms.Resize(5)(img)  # the smaller edge becomes 5: 10x14 -> 5x7
    assert r.size == (7, 5)
    assert_same(np.asarray(r), np.asarray(img.resize((7, 5), Image.BILINEAR)))
    assert transforms.Resize((4, 3))(img).size == (3, 4)
    grey = transforms.ToPILImage()(cn.tensor(np.full((1, 2, 3), 0.5, np.float32)))
    assert grey.mode == "L" and np.asarray(grey).tolist() == [[127] * 3] * 2
    assert transforms.Lambda(lambda v: v + 1)(1) == 2


# ---------------------------------------------------------------- make_grid / save_image
def test_make_grid_layout_matches_hand_built():
    x = np.arange(5 * 1 * 2 * 3, dtype=np.float32).reshape(5, 1, 2, 3) + 1
    g = make_grid(cn.tensor(x), nrow=2, padding=1, pad_value=-1)
    expected = np.full((3, 3 * 3 + 1, 2 * 4 + 1), -1, np.float32)  # 3 rows x 2 cols of (2+1)x(3+1) cells
    for k in range(5):
        r, c = divmod(k, 2)
        expected[:, 1 + 3 * r:3 + 3 * r, 1 + 4 * c:4 + 4 * c] = x[k, 0]  # grey repeated to 3 channels
    assert_same(g, expected)
    assert_same(make_grid(cn.tensor(x[:1])), np.repeat(x[0], 3, axis=0))  # one image: no padding
    n = make_grid(cn.tensor(x[:2]), padding=0, normalize=True).numpy()
    assert n.min() == 0 and n.max() == 1
    ranged = make_grid(cn.tensor(x[:2]), padding=0, normalize=True, value_range=(2, 4)).numpy()
    assert_same(ranged[0, :, :3], (np.clip(x[0, 0], 2, 4) - 2) / np.float32(2))


def test_save_image_writes_the_grid(tmp_path, rng):
    x = rng.random((3, 3, 4, 5)).astype(np.float32)
    save_image(cn.tensor(x), str(tmp_path / "g.png"), nrow=3, padding=0)
    back = np.asarray(Image.open(tmp_path / "g.png"))
    expected = (np.clip(np.concatenate(list(x), axis=2) * 255 + 0.5, 0, 255)).astype(np.uint8).transpose(1, 2, 0)
    assert_same(back, expected)
    assert os.listdir(tmp_path) == ["g.png"]


# ---------------------------------------------------------------- convnet.utils.data
def test_utils_data_namespace_and_splits():
    import convnet.utils.data as tud

    ds = tud.TensorDataset(cn.arange(10), cn.arange(10) * 2)
    a, b = tud.random_split(ds, [0.7, 0.3], generator=np.random.default_rng(0))
    assert (len(a), len(b)) == (7, 3)
    assert sorted(np.concatenate([a.indices, b.indices]).tolist()) == list(range(10))
    assert [len(p) for p in tud.random_split(ds, [0.34, 0.33, 0.33], seed=1)] == [4, 3, 3]  # as torch
    cat = tud.ConcatDataset([tud.Subset(ds, [4, 5]), ds])
    assert len(cat) == 12 and cat[1][1] == 10 and cat[2][0] == 0 and cat[-1][0] == 9
    assert len(ds + ds) == 20
    with pytest.raises(IndexError):
        cat[12]
    xs = [x.numpy().tolist() for x, _ in tud.DataLoader(cat, batch_size=5)]
    assert xs == [[4, 5, 0, 1, 2], [3, 4, 5, 6, 7], [8, 9]]
    assert tud.default_collate([1, 2]).dtype == np.int64 and tud.IterableDataset and tud.get_worker_info() is None
