"""Run directories: one writer at a time (``RUN_DIR/.lock``) and no silent mixing with an old run.

``run_directory(path, fresh, force)`` is a context manager used by ``convnet train``:

- it creates ``path`` if needed and takes ``path/.lock`` with ``O_CREAT | O_EXCL`` (atomic on
  every local file system), writing the holder's pid into it. A second writer gets
  ``RunDirBusyError`` naming that pid. A lock whose pid is no longer alive (a run that was
  killed) is stale and taken over.
- for a ``fresh`` run, a directory that already holds files is refused (``RunDirNotEmptyError``)
  unless ``force``, which removes the files a run writes (``RUN_FILES``) and nothing else.
- on exit the lock is removed, and a directory this call created is removed again if it is
  still empty (a run that failed before writing anything leaves no trace).

Example:
    >>> with run_directory("runs/demo", fresh=True, force=False):
    ...     train_into("runs/demo")
"""
from __future__ import annotations

import contextlib
import os
import time

__all__ = ["run_directory", "RunDirBusyError", "RunDirNotEmptyError", "RUN_FILES", "LOCK_NAME"]

LOCK_NAME = ".lock"
RUN_FILES = ("model.safetensors", "model.json", "training_state.safetensors", "history.json", "history.csv",
             "metrics.json", "config.json", "training_curve.png", "confusion_matrix.png")


class RunDirBusyError(OSError):
    """Another live process holds the run directory's lock."""


class RunDirNotEmptyError(ValueError):
    """A fresh run was pointed at a directory that already holds files."""


def _pid_alive(pid):
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _read_pid(lock):
    try:
        with open(lock) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _acquire(lock):
    """Create ``lock`` holding our pid; take over a stale one; raise ``RunDirBusyError`` if held."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _read_pid(lock)
            if pid is None:
                try:  # being written this very moment, or garbage left by a crash: old garbage is stale
                    fresh = time.time() - os.path.getmtime(lock) < 10
                except OSError:
                    continue
                if fresh:
                    raise RunDirBusyError(f"{os.path.dirname(lock)} is locked by another run ({lock} is being "
                                          "written); try again in a moment") from None
            elif _pid_alive(pid):
                raise RunDirBusyError(f"{os.path.dirname(lock)} is in use by another run (pid {pid}, lock file "
                                      f"{lock}); wait for it to finish, or delete the lock file if that process "
                                      "is not a convnet run") from None
            if _read_pid(lock) == pid:  # still the same stale lock: take it over
                with contextlib.suppress(FileNotFoundError):
                    os.remove(lock)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        return
    raise RunDirBusyError(f"{os.path.dirname(lock)} is locked by another run (lock file {lock})")


def _release(lock):
    if _read_pid(lock) == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            os.remove(lock)


@contextlib.contextmanager
def run_directory(path, fresh=True, force=False, option="--out"):
    """Hold ``path`` for one run (see the module docstring); ``option`` names the argument in errors."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirNotEmptyError(f"{option} {path} is a file, expected a directory for the run")
    created = not os.path.exists(path)
    os.makedirs(path, exist_ok=True)
    lock = os.path.join(path, LOCK_NAME)
    try:
        _acquire(lock)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(path)
        raise
    try:
        if fresh:
            present = sorted(n for n in os.listdir(path) if n != LOCK_NAME)
            if present and not force:
                shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
                raise RunDirNotEmptyError(
                    f"{option} {path} is not empty ({len(present)} entries: {shown}); pass --resume {path} to "
                    "continue the run there, --force to overwrite it, or another --out")
            if force:
                for name in RUN_FILES:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(os.path.join(path, name))
        yield path
    finally:
        _release(lock)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(path)  # only succeeds when nothing was written
