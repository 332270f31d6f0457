"""`convnet visualize` on a freshly trained LeNet-5: the files, the page, and the page in a real browser."""
import os
import re
import shutil

import numpy as np
import pytest

import convnet as cn
from convnet import viz
from convnet.cli.main import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """LeNet-5 trained 1 epoch on digits (a few seconds), a digit PNG, and the report written by the CLI."""
    from PIL import Image
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("viz")
    assert main(["train", "--epochs", "1", "--out", str(root / "run"), "--no-progress"]) == 0
    d = load_digits()
    Image.fromarray((d.images[1000] / 16 * 255).astype(np.uint8)).resize((32, 32), Image.NEAREST).save(
        root / "digit.png")
    assert main(["visualize", str(root / "run"), "--image", str(root / "digit.png"), "--out", str(root / "viz"),
                 "--limit", "120"]) == 0
    return root


def test_report_files_and_page(run):
    out = run / "viz"
    html = (out / "index.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', html)
    for name in ("filters.png", "feature_maps_features_c1.png", "feature_maps_features_c3.png", "attributions.png",
                 "grad_cam.png", "occlusion_map.png", "embedding.png", "top_activations.png", "class_model.png",
                 "training_curve.png", "confusion_matrix.png"):
        assert name in srcs, name
    for s in srcs:                                        # relative links to PNGs that exist
        assert not s.startswith(("/", "http")) and (out / s).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(re.findall("<figcaption>", html)) == len(srcs)
    assert "<script" not in html


def test_class_model_of_the_trained_net_raises_its_score(run):
    model = cn.checkpoint.load_model(str(run / "run"))
    img, scores = viz.class_model(model, 3, steps=25)
    assert img.shape == (1, 32, 32) and scores[-1] > scores[0] + 5
    with cn.no_grad():
        assert int(model(cn.tensor(img[None])).numpy().argmax()) == 3


def test_visualize_bad_input_is_one_line(run, capsys):
    assert main(["visualize", str(run / "run"), "--image", str(run / "missing.png"), "--out", str(run / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("convnet visualize: error:") and "missing.png" in err[0]


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_page_in_headless_chromium(run, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium installed (apt-get install chromium): the page was not opened in a browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto((run / "viz" / "index.html").as_uri())
            page.wait_for_load_state("load")
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete, "
                                                     "i.naturalWidth])")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert len(sizes) >= 11
    broken = [s for s, done, w in sizes if not done or w == 0]
    assert not broken, f"images that did not load: {broken}"
    assert os.path.getsize(tmp_path / "report.png") > 10_000
    shutil.copyfile(tmp_path / "report.png", "/tmp/viz_report_screenshot.png") if os.environ.get(
        "CONVNET_KEEP_SCREENSHOT") else None
