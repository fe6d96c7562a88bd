"""The ACL LOG: refused commands, keys, channels and failed AUTHs, newest first.

As Redis's addACLLogEntry: an entry like one of the 10 newest (same reason, context, object
and user, within 60 s) is bumped (count + 1, moved to the front) instead of added; the log is
trimmed to ``acllog-max-len``.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUPING_MS = 60_000
REASONS = {1: "command", 2: "key", 3: "channel", 4: "auth"}
DENIED_AUTH = 4


@dataclass
class LogEntry:
    count: int
    reason: str
    context: str
    object: bytes
    username: bytes
    ctime_ms: int
    cinfo: bytes

    def matches(self, other: LogEntry) -> bool:
        return (self.reason == other.reason and self.context == other.context
                and abs(self.ctime_ms - other.ctime_ms) <= GROUPING_MS
                and self.object == other.object and self.username == other.username)

    def reply(self, now_ms: int) -> dict:
        return {
            b"count": self.count,
            b"reason": self.reason.encode(),
            b"context": self.context.encode(),
            b"object": self.object,
            b"username": self.username,
            b"age-seconds": (now_ms - self.ctime_ms) / 1000,
            b"client-info": self.cinfo,
        }


class AclLog:
    def __init__(self):
        self.entries: list[LogEntry] = []

    def add(self, entry: LogEntry, max_len: int) -> None:
        for i, current in enumerate(self.entries[:10]):
            if current.matches(entry):
                del self.entries[i]
                current.cinfo = entry.cinfo
                current.ctime_ms = entry.ctime_ms
                current.count += 1
                self.entries.insert(0, current)
                return
        self.entries.insert(0, entry)
        del self.entries[max_len:]

    def reset(self) -> None:
        self.entries = []

    def trim(self, max_len: int) -> None:
        del self.entries[max_len:]
