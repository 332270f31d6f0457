"""A command whose optional extra is missing says which extra to install, in one line (exit 2)."""
import sys

import convnet as cn
from convnet.cli.main import main


def test_missing_optional_dependency_is_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "model.safetensors"
    cn.save(str(path), cn.models.get("lenet5"), meta={"dataset": "digits"})
    for name in [m for m in sys.modules if m == "onnx" or m.startswith("onnx.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnx", None)  # "import onnx" now raises ImportError
    status = main(["export", str(path), "--onnx", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("convnet export: error:") and "convnet[onnx]" in err
    assert not (tmp_path / "m.onnx").exists()
