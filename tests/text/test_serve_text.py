"""``convnet serve`` with a text model: POST /v1/predict {"text": ...} answers with the language."""
import pytest

from convnet.cli.main import main


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    from langid_fixtures import write_langid

    folder = write_langid(tmp_path_factory.mktemp("lid"))
    run = str(tmp_path_factory.mktemp("run") / "r")
    assert main(["train", "--dataset", "langid-gnu", "--data-dir", str(folder), "--model", "textcnn",
                 "--epochs", "3", "--out", run, "--no-progress", "--image-size", "64"]) == 0
    return run


def test_serve_text_model(text_run):
    from fastapi.testclient import TestClient

    from convnet.serve.app import create_app

    with TestClient(create_app(text_run)) as client:
        info = client.get("/v1/model").json()
        assert info["kind"] == "text" and info["classes"][:2] == ["de", "fr"]
        r = client.post("/v1/predict?k=2", json={"text": "le répertoire est introuvable"})
        assert r.status_code == 200, r.text
        top = r.json()["predictions"]
        assert [p["label"] for p in top][0] == "fr" and top[0]["probability"] > 0.5 and len(top) == 2
        r = client.post("/v1/predict", json={"text": "das Verzeichnis wurde nicht gefunden"})
        assert r.json()["predictions"][0]["label"] == "de"
        for body, match in (({"pixels": [[0]]}, "'text' string"), ({"text": ""}, "non-empty"),
                            ({"text": 5}, "non-empty")):
            r = client.post("/v1/predict", json=body)
            assert r.status_code == 422 and match in r.json()["detail"], r.text
        r = client.post("/v1/activations", json={"pixels": [[0]]})
        assert r.status_code == 422 and "classifies text" in r.json()["detail"]
