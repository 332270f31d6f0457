"""Every zoo model at its paper's input size and class count, exported to ONNX and run in
onnxruntime next to convnet: the largest output difference and the forward times (medians).

    .venv/bin/python benchmarks/onnx_zoo.py [NAME ...]

The test suite (tests/onnx/test_export_zoo.py) runs the same check on small inputs; this is the
full-size run. Batch-norm statistics are set from a calibration batch (variance + 1), as in the
test, so the deep ResNets' logits are O(1) and a float32 difference means something.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import numpy as np

import convnet as cn


def calibrate(model, x):
    bns = [m for m in model.modules() if isinstance(m, cn.nn.BatchNorm2d)]
    for bn in bns:
        bn.momentum = 1.0
    with cn.no_grad():
        model.train()(cn.tensor(x))
    for bn in bns:
        bn.running_var._data += 1.0
    return model.eval()


def median_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(names):
    import onnxruntime as ort

    print("| model | input | max abs diff (batch 1, 2) | convnet s | onnxruntime s | export s |")
    print("|---|---|---|---|---|---|")
    for name in names:
        cn.manual_seed(0)
        shape = cn.models.default_input_shape(name)
        model = cn.models.get(name)
        rng = np.random.default_rng(0)
        vocab = model.config.get("vocab_size")

        def example(b):  # images, or token ids (N, L) for the text models
            if vocab:
                return rng.integers(0, vocab, (b,) + shape[1:])
            return rng.standard_normal((b,) + shape).astype(np.float32)

        calibrate(model, example(2))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, f"{name}.onnx")
            t0 = time.perf_counter()
            cn.onnx.export(model, cn.tensor(example(1)), path, dynamic_axes={"input": {0: "b"}, "output": {0: "b"}})
            t_export = time.perf_counter() - t0
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            diffs = []
            for b in (1, 2):
                x = example(b)
                with cn.no_grad():
                    ours = model(cn.tensor(x)).numpy()
                diffs.append(float(np.abs(ours - sess.run(None, {"input": x})[0]).max()))
            x = cn.tensor(example(1))
            with cn.no_grad():
                t_ours = median_time(lambda: model(x))
            t_ort = median_time(lambda: sess.run(None, {"input": x.numpy()}))
        print(f"| {name} | {shape} | {diffs[0]:.1e}, {diffs[1]:.1e} | {t_ours:.3f} | {t_ort:.3f} | {t_export:.1f} |",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or cn.models.names())
