"""Checkpoint files on disk: the safetensors header is the only truth, temporaries of killed saves are
cleaned up, and new files get the umask's ordinary permissions."""
import json
import os
import time

import numpy as np
import pytest
from helpers import assert_same

import convnet as cn
from convnet import _atomic_file, models


def _arrays(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_loading_never_reads_the_sidecar(tmp_path):
    new = models.get("lenet5", num_classes=4)
    path = cn.save(tmp_path / "model.safetensors", new, meta={"epoch": 2})
    # what a kill -9 between the two writes leaves: new weights beside an older (here: bogus) sidecar
    (tmp_path / "model.json").write_text(json.dumps({"format": "convnet.model", "architecture": {
        "name": "lenet5", "num_classes": 10}, "meta": {"epoch": 1}}))
    for target in (path, tmp_path / "model.json", tmp_path):
        loaded = cn.load(target)
        assert loaded.config["num_classes"] == 4 and loaded.checkpoint_meta == {"epoch": 2}
        assert_same(_arrays(loaded), _arrays(new))
    assert cn.checkpoint.read_metadata(tmp_path / "model.json")["meta"] == {"epoch": 2}
    (tmp_path / "model.json").write_text("{ not json")  # a broken sidecar does not matter either
    assert cn.load(tmp_path / "model.json").config["num_classes"] == 4


def test_sidecar_is_written_after_the_weights(tmp_path, monkeypatch):
    order = []
    real = _atomic_file.os.replace

    def spy(src, dst):
        order.append(os.path.basename(dst))
        real(src, dst)

    monkeypatch.setattr(_atomic_file.os, "replace", spy)
    cn.save(tmp_path / "m.safetensors", models.get("lenet5"))
    assert order == ["m.safetensors", "m.json"]


def _stale(folder, target, pid, age_s, token="deadbeef"):
    p = folder / f".{target}.{pid}.{token}.tmp"
    p.write_bytes(b"partial")
    t = time.time() - age_s
    os.utime(p, (t, t))
    return p


def test_killed_saves_leave_no_temporaries_behind(tmp_path):
    dead_pid = 2 ** 22 + 12345  # above Linux's pid_max: never a live process
    dead = _stale(tmp_path, "model.safetensors", dead_pid, age_s=0)
    old_live = _stale(tmp_path, "model.safetensors", os.getppid(), age_s=3600)
    fresh_live = _stale(tmp_path, "model.safetensors", os.getppid(), age_s=0, token="0a1b")  # a concurrent writer: keep
    old_style = tmp_path / ".model.safetensors.k2j_x9q.tmp"  # mkstemp name of older versions, no pid
    old_style.write_bytes(b"x")
    os.utime(old_style, (time.time() - 3600,) * 2)
    other = _stale(tmp_path, "other.safetensors", dead_pid, age_s=3600)  # another target: not ours to touch
    cn.save(tmp_path / "model.safetensors", models.get("lenet5"))
    assert not dead.exists() and not old_live.exists() and not old_style.exists()
    assert fresh_live.exists() and other.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([fresh_live.name, other.name, "model.json", "model.safetensors"])


def test_temp_file_names_carry_the_writer_pid(tmp_path, monkeypatch):
    seen = []
    real = _atomic_file.os.replace
    monkeypatch.setattr(_atomic_file.os, "replace", lambda s, d: (seen.append(os.path.basename(s)), real(s, d)))
    _atomic_file.atomic_write(tmp_path / "x.txt", "hello")
    assert len(seen) == 1 and seen[0].startswith(f".x.txt.{os.getpid()}.") and seen[0].endswith(".tmp")
    assert (tmp_path / "x.txt").read_text() == "hello"


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_files_get_the_umask_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = cn.save(models.get("lenet5"), tmp_path / "m.pt")
        cn.save(tmp_path / "run", models.get("lenet5"))
        cn.checkpoint.save_training_state(tmp_path / "t.safetensors", {"w": np.ones(2)})
    finally:
        os.umask(old)
    for p in (path, tmp_path / "run" / "model.safetensors", tmp_path / "run" / "model.json",
              tmp_path / "t.safetensors"):
        assert os.stat(p).st_mode & 0o777 == 0o666 & ~umask, p
