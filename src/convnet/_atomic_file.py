"""Atomic file writes: a hidden temporary file in the target's folder, then ``os.replace``.

A reader sees either the old file or the new one, never half of one. The temporary file is
``.<target name>.<writer pid>.<random>.tmp``; a writer killed with ``kill -9`` leaves it behind,
so every write first removes the stale temporaries of the same target (writer process gone, or
older than ``STALE_AFTER_S``). Files get the permissions any new file gets (``0o666 & ~umask``).
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import time

__all__ = ["atomic_write", "atomic_open", "remove_stale_temps", "STALE_AFTER_S"]

STALE_AFTER_S = 600  # a temporary file older than this is an abandoned write


def _temp_pattern(base):
    # ".<base>.<pid>.<hex>.tmp" (this module) or ".<base>.<random>.tmp" (older mkstemp names, no pid)
    return re.compile(r"^\." + re.escape(base) + r"\.(?:(\d+)\.)?[A-Za-z0-9_]+\.tmp$")


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def remove_stale_temps(path, max_age_s=STALE_AFTER_S):
    """Delete ``.<name>.*.tmp`` leftovers of ``path`` whose writer is dead or that are older than ``max_age_s``.

    Returns the list of removed paths.
    """
    folder, base = os.path.split(os.path.abspath(os.fspath(path)))
    pattern, removed, now = _temp_pattern(base), [], time.time()
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = pattern.match(name)
        if m is None:
            continue
        full = os.path.join(folder, name)
        try:
            old = now - os.lstat(full).st_mtime > max_age_s
            dead = m.group(1) is not None and not _pid_alive(int(m.group(1)))
            if old or dead:
                os.remove(full)
                removed.append(full)
        except OSError:  # vanished meanwhile, or not ours to remove
            continue
    return removed


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path):
    """``with atomic_open(path) as f: f.write(...)``: ``path`` appears complete when the block ends, or not at all."""
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temps(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, like any new file
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def atomic_write(path, data):
    """Write ``data`` (bytes, str, or a callable ``data(f)`` that writes to a binary file) to ``path`` atomically.

    Returns ``path``.
    """
    with atomic_open(path) as f:
        if callable(data):
            data(f)
        else:
            f.write(data.encode() if isinstance(data, str) else data)
    return os.fspath(path)
