"""POST /v1/activations: the prepared input, each conv layer's maps and the saliency map, against PyTorch."""
from collections import OrderedDict

import httpx
import numpy as np
import torch
from torch import nn

from test_api import png


def torch_lenet5(checkpoint):
    """A PyTorch LeNet-5 with the checkpoint's weights (same state_dict keys as convnet.models.lenet5)."""
    from convnet.checkpoint import load_state

    net = nn.Sequential(OrderedDict([
        ("features", nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(1, 6, 5)), ("act1", nn.ReLU()), ("s2", nn.MaxPool2d(2, 2)),
            ("c3", nn.Conv2d(6, 16, 5)), ("act3", nn.ReLU()), ("s4", nn.MaxPool2d(2, 2)),
            ("c5", nn.Conv2d(16, 120, 5)), ("act5", nn.ReLU())]))),
        ("classifier", nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()), ("f6", nn.Linear(120, 84)), ("act6", nn.ReLU()),
            ("output", nn.Linear(84, 10))])))]))
    state = {k: torch.from_numpy(np.array(v.numpy() if hasattr(v, "numpy") else v))
             for k, v in load_state(checkpoint).items()}
    net.load_state_dict(state)
    return net.eval()


def test_activations_match_torch(live_server, checkpoint, test_digits, tmp_path):
    from convnet.data.images import load_image_batch

    images, labels = test_digits
    path = tmp_path / "digit.png"
    path.write_bytes(png(images[1]))
    r = httpx.post(f"{live_server.url}/v1/activations?k=5", files={"image": ("digit.png", path.read_bytes())},
                   timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["predictions"][0]["class"] == labels[1] and len(body["predictions"]) == 5
    assert body["has_ink"] is True

    # the input as the network sees it = what `convnet predict` prepares from the same file
    recipe = "mnist" if checkpoint[1] == "mnist" else "digits"
    seen = load_image_batch([str(path)], (1, 32, 32), None, recipe=recipe)[0]  # (1, 32, 32) in [0, 1]
    assert body["input"]["shape"] == [1, 32, 32]
    np.testing.assert_allclose(np.array(body["input"]["pixels"]), seen, atol=6e-4)

    # every conv layer's output, scaled to [0, 1] over the layer, against PyTorch's forward
    net = torch_lenet5(checkpoint[0])
    import convnet as cn

    norm = cn.load(checkpoint[0]).checkpoint_meta["normalization"]
    x = (torch.from_numpy(seen[None]) - norm["mean"][0]) / norm["std"][0]
    x.requires_grad_(True)
    outs = {}
    for name in ("c1", "c3", "c5"):
        getattr(net.features, name).register_forward_hook(lambda m, i, o, name=name: outs.__setitem__(name, o))
    logits = net(x)
    assert [layer["name"] for layer in body["layers"]] == ["features.c1", "features.c3", "features.c5"]
    for layer, name, shape in zip(body["layers"], ("c1", "c3", "c5"), ([6, 28, 28], [16, 10, 10], [120, 1, 1])):
        assert layer["shape"] == shape
        ref = outs[name].detach().numpy()[0][:16]
        ref = (ref - ref.min()) / (ref.max() - ref.min())
        np.testing.assert_allclose(np.array(layer["maps"]), ref, atol=2e-3)

    # saliency: |d logit_top / d input| (Simonyan et al.), scaled by its maximum, from torch.autograd
    logits[0, int(logits.argmax())].backward()
    sal = x.grad.abs()[0].amax(0).numpy()
    np.testing.assert_allclose(np.array(body["saliency"]), sal / sal.max(), atol=2e-3)


def test_activations_max_maps_and_bad_input(live_server, test_digits):
    img = test_digits[0][0]
    r = httpx.post(f"{live_server.url}/v1/activations?max_maps=2", json={"pixels": img.tolist()}, timeout=30)
    assert [len(layer["maps"]) for layer in r.json()["layers"]] == [2, 2, 2]
    blank = httpx.post(f"{live_server.url}/v1/activations", json={"pixels": np.zeros((28, 28)).tolist()})
    assert blank.status_code == 200 and blank.json()["has_ink"] is False
    bad = httpx.post(f"{live_server.url}/v1/activations", content=b'{"pixels": [[1e400]]}',
                     headers={"Content-Type": "application/json"})
    assert bad.status_code == 422 and "finite" in bad.json()["detail"]
