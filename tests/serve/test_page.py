"""The page in headless Chromium: draw a "7" with mouse strokes and see 7 as the top class.

Needs Debian's ``chromium`` (or ``$CONVNET_CHROMIUM``) and Playwright; skipped with a message otherwise.
The screenshot is saved in the test's tmp dir (its path is printed).
"""
import os
import shutil

import pytest

CHROMIUM = os.environ.get("CONVNET_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
IDLE = "() => { const s = window.convnetPage; return s && s.renders > 0 && !s.inFlight && !s.queued && !s.encoding; }"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("no Chromium browser installed (apt install chromium, or set $CONVNET_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def stroke(page, points, steps=12):
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()


def test_draw_a_seven(browser, live_server, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.url + "/")
    page.wait_for_function("() => window.convnetPage && window.convnetPage.ready")
    assert page.inner_text("#model-name") == "lenet5"
    box = page.locator("#pad").bounding_box()

    def at(u, v):  # fractions of the 280x280 pad -> page coordinates
        return box["x"] + u * box["width"], box["y"] + v * box["height"]

    stroke(page, [at(0.25, 0.22), at(0.72, 0.22)])  # the bar of the 7
    stroke(page, [at(0.72, 0.22), at(0.58, 0.5), at(0.45, 0.82)])  # its stem
    page.wait_for_function(IDLE, timeout=30_000)
    shot = tmp_path / "draw_seven.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    top = page.locator("#predictions li").first
    assert top.get_attribute("data-label") == "7", page.inner_text("#predictions")
    assert page.inner_text("#top-label") == "7"
    assert page.locator("#layers .layer").count() == 3  # c1, c3, c5
    assert page.locator("#layers canvas").count() == 6 + 16 + 1
    assert errors == []

    page.click("#clear")
    assert page.inner_text("#top-label") == ""
    page.close()


def test_upload_an_image(browser, live_server, test_digits, tmp_path):
    from test_api import png

    images, labels = test_digits
    path = tmp_path / "digit.png"
    path.write_bytes(png(images[2]))
    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.wait_for_function("() => window.convnetPage && window.convnetPage.ready")
    page.set_input_files("#upload", str(path))
    page.wait_for_function(IDLE, timeout=30_000)
    assert page.inner_text("#top-label") == str(labels[2])
    page.goto(live_server.url + "/docs")  # the API page renders offline from /openapi.json
    page.wait_for_selector(".op")
    assert "/v1/predict" in page.inner_text("#ops")
    page.close()
