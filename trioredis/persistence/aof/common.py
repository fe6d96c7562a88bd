"""What every part of the AOF shares: file-name parts, manifest entry types, the AOF states
and rewrite limits, ``AofError``, and the small os-level helpers (write everything, fsync a
directory, write a file durably, size, unlink).

Kept apart so the manifest, the reader, the writer, the rewrite and the loader depend on
this module and not on one another.
"""

from __future__ import annotations

import os

BASE_SUFFIX = ".base"
INCR_SUFFIX = ".incr"
RDB_SUFFIX = ".rdb"
AOF_SUFFIX = ".aof"
MANIFEST_SUFFIX = ".manifest"
TEMP_PREFIX = "temp-"

TYPE_BASE, TYPE_HIST, TYPE_INCR = "b", "h", "i"
OFF, ON, WAIT_REWRITE = 0, 1, 2  # Redis's AOF_OFF / AOF_ON / AOF_WAIT_REWRITE
ITEMS_PER_CMD = 64  # AOF_REWRITE_ITEMS_PER_CMD
REWRITE_LIMIT_THRESHOLD = 3  # failed rewrites in a row before automatic ones are delayed
REWRITE_LIMIT_MAX_MINUTES = 60


class AofError(Exception):
    """The AOF cannot be loaded (bad manifest, missing file, corrupt or truncated data)."""


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    total = 0
    while view:
        n = os.write(fd, view)
        total += n
        view = view[n:]
    return total


def write_file(path: str, chunks) -> None:
    """Write ``chunks`` to ``path`` durably (the caller renames it into place)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    try:
        for chunk in chunks:
            _write_all(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
