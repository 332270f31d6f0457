"""The documentation site builds with warnings as errors, executing every page, and its links resolve.

One Sphinx build (a minute or two: every notebook page is executed) in a subprocess, shared by the
checks below through a module-scoped fixture.
"""
import importlib.util
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCES = []   # the page sources present when the build started

def _has_mnist():
    root = os.environ.get("CONVNET_DATA")
    return bool(root) and (Path(root) / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()


pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None,
                       reason="the docs build needs sphinx and myst-nb (CI installs them)"),
    # the training, detection and transfer pages run on real MNIST
    pytest.mark.skipif(not _has_mnist(), reason="the docs pages need MNIST in $CONVNET_DATA (CI sets it)"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "html"
    SOURCES[:] = [p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md")
                  if "_build" not in p.parts and p.name != "README.md"]   # listed before the build
    env = {**os.environ, "MPLBACKEND": "Agg", "CONVNET_DOCS_EXECUTE": "force"}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    warnings = [line for line in proc.stderr.splitlines() if ": WARNING:" in line or ": ERROR:" in line]
    assert proc.returncode == 0, "sphinx-build -W failed:\n" + "\n".join(warnings or proc.stderr.splitlines()[-40:])
    return out


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "link", "script"):
                self.hrefs.append(attrs[key])


def _parse(path, cache={}):
    if path not in cache:
        p = _Links()
        p.feed(path.read_text(encoding="utf-8"))
        cache[path] = p
    return cache[path]


def test_every_page_source_is_built(site):
    assert SOURCES
    missing = [str(s) for s in SOURCES if not (site / s).is_file()]
    assert not missing, f"pages not built: {missing}"


def test_internal_links_and_anchors_resolve(site):
    broken = []
    for page in site.rglob("*.html"):
        links = _parse(page)
        for href in links.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "data:", "javascript:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {href}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _parse(target).ids:
                broken.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(broken)[:50])


def test_lecture_pages_execute_and_download_as_notebooks(site):
    lectures = sorted(p.stem for p in (DOCS / "lectures").glob("[0-9]*.md"))
    assert len(lectures) >= 5
    for name in lectures:
        html = (site / "lectures" / f"{name}.html").read_text(encoding="utf-8")
        assert f"_notebooks/lectures/{name}.ipynb" in html, name
        assert (site / "_notebooks" / "lectures" / f"{name}.ipynb").is_file(), name
        assert "cell_output" in html, f"{name}: no executed output"
    # every lecture shows at least one picture
    for name in lectures:
        html = (site / "lectures" / f"{name}.html").read_text(encoding="utf-8")
        assert "<img" in html, f"{name}: no picture"


def test_concept_index_and_api_pages_are_generated(site):
    from convnet.concepts import CONCEPTS

    concepts = (site / "concepts.html").read_text(encoding="utf-8")
    for c in CONCEPTS:
        assert c.usage.replace('"', "&quot;") in concepts or c.usage in concepts, c.term
    conv2d = (site / "api" / "functional.html").read_text(encoding="utf-8")
    assert 'id="convnet.functional.conv2d"' in conv2d
