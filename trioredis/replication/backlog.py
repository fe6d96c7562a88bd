"""The replication backlog: the last ``repl-backlog-size`` bytes of the replication stream.

A replica that reconnects with an offset still inside it gets ``+CONTINUE`` and only the bytes
it missed. A ring buffer would save copying; a bytearray trimmed from the front in large steps
keeps the code obvious and the amortised cost per byte O(1).
"""

from __future__ import annotations


class ReplicationBacklog:
    __slots__ = ("size", "buf", "start_offset")

    def __init__(self, size: int, next_offset: int):
        self.size = size
        self.buf = bytearray()
        # Offset of buf[0] in the stream (Redis's repl_backlog_off: the first byte's offset).
        self.start_offset = next_offset

    def append(self, data: bytes) -> None:
        self.buf += data
        excess = len(self.buf) - self.size
        # Trim in chunks (at least a quarter of the size) so appends stay amortised O(1).
        if excess > 0 and excess >= max(self.size // 4, 1):
            del self.buf[:excess]
            self.start_offset += excess
        elif excess > 0 and len(self.buf) > 2 * self.size:
            del self.buf[:excess]
            self.start_offset += excess

    @property
    def histlen(self) -> int:
        return min(len(self.buf), self.size)

    @property
    def first_offset(self) -> int:
        """Offset of the oldest byte a replica may still ask for."""
        return self.start_offset + max(0, len(self.buf) - self.size)

    @property
    def end_offset(self) -> int:
        """Offset just past the last byte."""
        return self.start_offset + len(self.buf)

    def covers(self, offset: int) -> bool:
        """Can a replica whose next wanted byte is ``offset`` continue from here?"""
        return self.first_offset <= offset <= self.end_offset

    def since(self, offset: int) -> bytes:
        return bytes(self.buf[offset - self.start_offset :])

    def resize(self, size: int) -> None:
        self.size = size
