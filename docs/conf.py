"""Sphinx configuration of the convnet site: MyST-NB pages executed at build time + API reference.

Build (warnings are errors, a failing cell fails the build):

    .venv/bin/sphinx-build -W --keep-going -b html docs _build/html

Every page under ``lectures/`` and ``guide/`` is a MyST Markdown notebook, executed on each build
(``CONVNET_DOCS_EXECUTE=cache`` reuses unchanged pages' outputs while writing). The executed
notebooks are copied to ``_notebooks/`` in the output and linked from the top of each page, so every
page also opens in Jupyter.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import shutil
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # the checkout's convnet, installed or not

import convnet  # noqa: E402

project = "convnet"
author = "the convnet authors"
copyright = "the convnet authors"
release = version = convnet.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
# MathJax shipped in a pip package, so formulas render offline (else the CDN copy is used).
if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
    extensions.append("sphinx-mathjax-offline")

exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = []
html_static_path = ["_static"]
html_css_files = ["convnet.css"]
html_title = f"convnet {release}"

# Furo: an offline theme (its CSS/JS ship in the wheel, no CDN), readable on small screens.
html_theme = "furo" if importlib.util.find_spec("furo") else "alabaster"

# MyST / MyST-NB ----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("CONVNET_DOCS_EXECUTE", "force")
nb_execution_timeout = 180            # seconds per cell
nb_execution_raise_on_error = True    # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# The kernels inherit this process's environment: a MPLBACKEND=Agg set for headless tests would
# make every plt.show() draw nothing. Pages always render their figures inline.
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"

# API reference -----------------------------------------------------------------------------
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True             # Attributes: as fields, not separate object entries
napoleon_custom_sections = [("Backward", "notes_style"), ("Shape", "notes_style")]
suppress_warnings = []

API_MODULES = ["convnet", "convnet.nn", "convnet.functional", "convnet.optim", "convnet.data",
               "convnet.models", "convnet.filters", "convnet.shapes", "convnet.checkpoint",
               "convnet.train"]


def public_objects(modname):
    """Public classes and functions of ``modname`` defined in convnet, in ``__all__`` order if any."""
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None) or sorted(n for n in vars(mod) if not n.startswith("_"))
    out = []
    for name in names:
        obj = getattr(mod, name, None)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not getattr(obj, "__module__", "").startswith("convnet"):
            continue
        out.append((name, obj))
    return out


def _parse_rst(directive, lines):
    """Parse generated reStructuredText from a directive used in a MyST page."""
    return directive.parse_text_to_nodes("```{eval-rst}\n" + "\n".join(lines) + "\n```")


def summary_line(obj):
    """The first sentence of ``obj``'s docstring as safe reStructuredText (for the summary table).

    Literals (double backquotes) are kept when balanced; everything else is plain text, so a
    docstring whose first sentence ends inside a literal or holds a stray ``*`` cannot break the
    build the way autosummary's own tables can.
    """
    doc = inspect.cleandoc(obj.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z(`])", doc)[0]
    parts = first.split("``")
    if len(parts) % 2 == 0:                       # an unclosed literal: drop the last backquotes
        parts[-2:] = [parts[-2] + parts[-1]]
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"``{part}``")
        else:
            part = re.sub(r":[a-z:]+:`~?([^`]*)`", r"\1", part)   # :func:`x` -> x
            out.append(_rst_text(part))
    return "".join(out) or "\\"


def _rst_text(text):
    """Plain text for generated reStructuredText: escape the inline-markup characters."""
    return re.sub(r"([\\*_|`])", r"\\\1", text)


class ApiModule(SphinxDirective):
    """``{convnet-api} convnet.nn``: module docstring, a summary table, then every object."""

    required_arguments = 1

    def run(self):
        modname = self.arguments[0]
        objs = public_objects(modname)
        lines = [f".. automodule:: {modname}", "   :no-members:", "",
                 f".. currentmodule:: {modname}", "",
                 ".. list-table::", "   :widths: 25 75", ""]
        for name, obj in objs:
            lines += [f"   * - :py:obj:`{name}`", f"     - {summary_line(obj)}"]
        lines.append("")
        for name, obj in objs:
            kind = "autoclass" if inspect.isclass(obj) else "autofunction"
            lines += [f".. {kind}:: {name}", ""]
        return _parse_rst(self, lines)


class ConceptTable(SphinxDirective):
    """``{concept-table}``: the concept index of ``convnet.concepts`` as a table (one home for it)."""

    def run(self):
        from convnet.concepts import CONCEPTS

        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 22 38 20 20", "",
                 "   * - term", "     - in convnet", "     - page", "     - what it is"]
        for c in CONCEPTS:
            api = f":py:obj:`{c.usage} <{c.api}>`" if c.api else "—"
            page = f":doc:`/{c.page}`" if c.page else "—"
            lines += [f"   * - {_rst_text(c.term)}", f"     - {api}", f"     - {page}", f"     - {_rst_text(c.note)}"]
        return _parse_rst(self, lines)


# Notebook downloads ----------------------------------------------------------------------
def _notebook_link(app, pagename, templatename, context, doctree):
    """Put an 'open as a notebook' link at the top of every executed page."""
    if doctree is None or not (HERE / f"{pagename}.md").is_file():
        return
    if "file_format: mystnb" not in (HERE / f"{pagename}.md").read_text(encoding="utf-8")[:300]:
        return
    href = context["pathto"](f"_notebooks/{pagename}.ipynb", 1)
    context["body"] = (f'<p class="nb-download"><a class="reference download" href="{href}" download>'
                       f"Download this page as a Jupyter notebook</a></p>\n" + context["body"])


def _copy_notebooks(app, exc):
    """Copy MyST-NB's executed notebooks (``<outdir>/../jupyter_execute``) into ``_notebooks/``."""
    if exc is not None or app.builder.format != "html":
        return
    src = Path(app.outdir).parent / "jupyter_execute"
    for nb in src.rglob("*.ipynb"):
        dest = Path(app.outdir) / "_notebooks" / nb.relative_to(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nb, dest)


# Pages other work adds later: listed in index.md's toctrees, dropped there while absent.
OPTIONAL_PAGES = ["results", "pytorch-in-ten-minutes"]


def _drop_missing_optional_pages(app, docname, source):
    if docname == "guide/index":     # an empty glob warns: keep it only once a guide page exists
        missing = set() if any(p.name != "index.md" for p in (HERE / "guide").glob("*.md")) else {"*"}
    elif docname == "index":
        missing = {p for p in OPTIONAL_PAGES if not (HERE / f"{p}.md").is_file()}
    else:
        return
    source[0] = "\n".join(line for line in source[0].split("\n") if line.strip() not in missing)


def setup(app):
    app.connect("source-read", _drop_missing_optional_pages)
    app.add_directive("convnet-api", ApiModule)
    app.add_directive("concept-table", ConceptTable)
    app.connect("html-page-context", _notebook_link)
    app.connect("build-finished", _copy_notebooks)
