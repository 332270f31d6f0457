"""The concept index (`convnet.concepts`) and `convnet concepts [TERM]`."""
import importlib
from pathlib import Path

import pytest

from convnet.cli.main import main
from convnet.concepts import CONCEPTS, find

DOCS = Path(__file__).resolve().parents[1] / "docs"


def resolve(dotted):
    """``convnet.a.b``: getattr step by step from ``convnet``, importing a submodule only where the
    attribute is missing (so ``convnet.summary`` is the function ``cn.summary``, as a user sees it)."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, name in enumerate(parts[1:], start=2):
        if not hasattr(obj, name):
            importlib.import_module(".".join(parts[:i]))
        obj = getattr(obj, name)
    return obj


@pytest.mark.parametrize("concept", CONCEPTS, ids=[c.term for c in CONCEPTS])
def test_every_api_name_resolves_to_an_object(concept):
    assert concept.api.startswith("convnet."), concept.api
    resolve(concept.api)                   # raises if a module or attribute is missing


@pytest.mark.parametrize("concept", CONCEPTS, ids=[c.term for c in CONCEPTS])
def test_every_page_exists(concept):
    assert (DOCS / f"{concept.page}.md").is_file(), f"{concept.term}: docs/{concept.page}.md does not exist"


def test_usage_names_the_same_object_as_api():
    import convnet as cn
    from convnet import data, filters, models, nn, optim, shapes  # noqa: F401
    import convnet.functional as F  # noqa: F401
    import convnet.viz as viz
    env = {"cn": cn, "F": F, "nn": nn, "optim": optim, "data": data, "models": models,
           "filters": filters, "shapes": shapes, "viz": viz}
    for c in CONCEPTS:
        if "(" in c.usage:                 # models.get("lenet5"): check the registry name instead
            name = c.usage.split('"')[1]
            assert name in models.names() and resolve(c.api) is getattr(models, name), c
            continue
        assert eval(c.usage, env) is resolve(c.api), c.term


def test_terms_are_unique_and_there_are_enough():
    terms = [c.term.lower() for c in CONCEPTS]
    assert len(terms) == len(set(terms))
    assert 50 <= len(CONCEPTS) <= 120


def test_issue_examples_map_to_the_named_api():
    expect = {"correlation": "filters.correlate2d", "toeplitz": "filters.conv_matrix",
              "output size": "shapes.conv_output_size", "rectification": "nn.Abs",
              "LCN": "F.local_contrast_norm", "jarrett": 'models.get("jarrett")'}
    for term, usage in expect.items():
        assert find(term)[0].usage == usage, term


def test_cli_prints_the_matching_row(capsys):
    assert main(["concepts", "toeplitz"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2                                   # header + one row
    assert lines[1].split() == ["Toeplitz", "matrix", "filters.conv_matrix", "lectures/02-convolution-as-a-matrix"]


def test_cli_without_term_prints_every_row(capsys):
    assert main(["concepts"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(CONCEPTS) + 1


def test_cli_unknown_term_is_one_error_line(capsys):
    assert main(["concepts", "no-such-term-xyz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("convnet concepts: error: no concept matches")


def test_find_rejects_non_strings():
    with pytest.raises(TypeError, match="term must be a str"):
        find(3)


def test_summary_list_says_what_each_model_is(capsys):
    from convnet import models

    assert main(["summary", "--list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    video = sorted(models.video.BUILDERS)
    assert sorted(lines) == sorted(models.names() + video)
    for name, line in lines.items():
        if name in video:  # clips, built by models.video.get
            assert f"models.video.get('{name}')" in line and "(1, 16, 64, 64)" in line, name
        else:
            assert models.describe(name) and models.describe(name) in line, name
    assert "LeCun et al. 1998" in lines["lenet5"] and "Jarrett et al. 2009" in lines["jarrett"]
