"""``convnet export RUN --onnx out.onnx``."""
import numpy as np
import pytest

import convnet as cn
from convnet.cli.main import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def test_export_checkpoint_prints_file_and_onnxruntime_difference(tmp_path, capsys):
    model = cn.models.get("lenet5")
    cn.save(model, tmp_path / "lenet5.safetensors")
    out = tmp_path / "lenet5.onnx"
    assert main(["export", str(tmp_path / "lenet5.safetensors"), "--onnx", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"wrote {out} (input (batch, 1, 32, 32))"
    diff = float(lines[1].rsplit("=", 1)[1])
    assert 0 <= diff < 1e-4
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(3).standard_normal((3, 1, 32, 32)).astype(np.float32)
    with cn.no_grad():
        expected = model.eval()(cn.tensor(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], expected, atol=1e-5)


def test_export_missing_checkpoint_is_one_line_error(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("convnet export: error:") and "nope" in err[0]
