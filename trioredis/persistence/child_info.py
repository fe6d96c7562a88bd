"""What a saving child tells its parent while it runs (Redis's childinfo.c).

The forked child writes, about once a second, how many keys it has written and its
copy-on-write size (the Private_Dirty memory of its own mappings) to a pipe; the parent reads
the pipe without blocking from its cron and from INFO, for ``current_save_keys_processed``,
``current_fork_perc``, ``current_cow_size`` and, from the child's last report,
``rdb_last_cow_size``.
"""

from __future__ import annotations

import os
import struct
import time

_RECORD = struct.Struct("qq")  # keys processed, copy-on-write bytes


def private_dirty() -> int:
    """Bytes of this process's memory written since the fork (Linux smaps; 0 elsewhere)."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ChildInfo:
    """The pipe and the last values the parent has read from it."""

    def __init__(self, keys_total: int):
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.keys_total = keys_total
        self.keys = 0
        self.cow = 0
        self.cow_time = time.time()
        self.buf = b""
        self._last_send = 0.0

    # -- child side ------------------------------------------------------------------------

    def in_child(self) -> None:
        os.close(self.r)

    def progress(self, keys_done: int) -> None:
        """iter_rdb's progress hook (every 1024 keys): report at most once a second."""
        now = time.monotonic()
        if now - self._last_send >= 1.0:
            self._last_send = now
            self.send(keys_done)

    def send(self, keys_done: int) -> None:
        try:
            os.write(self.w, _RECORD.pack(keys_done, private_dirty()))
        except OSError:
            pass  # the parent went away or stopped reading: nothing to tell

    # -- parent side -----------------------------------------------------------------------

    def in_parent(self) -> None:
        os.close(self.w)
        self.w = -1

    def poll(self) -> None:
        """Read whatever the child wrote; keep the latest values."""
        while True:
            try:
                data = os.read(self.r, 4096)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            self.buf += data
        n = len(self.buf) // _RECORD.size
        if n:
            keys, cow = _RECORD.unpack_from(self.buf, (n - 1) * _RECORD.size)
            self.buf = self.buf[n * _RECORD.size:]
            self.keys = keys
            if cow != self.cow:
                self.cow = cow
                self.cow_time = time.time()

    def close(self) -> None:
        for fd in (self.r, self.w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.r = self.w = -1

    def info_values(self) -> dict[str, str]:
        perc = self.keys * 100 / self.keys_total if self.keys_total else 0.0
        return {
            "current_cow_size": str(self.cow),
            "current_cow_size_age": str(int(time.time() - self.cow_time)),
            "current_fork_perc": f"{perc:.2f}",
            "current_save_keys_processed": str(self.keys),
            "current_save_keys_total": str(self.keys_total),
        }
