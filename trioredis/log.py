"""Log lines in Redis's format: ``pid:M 22 Nov 2026 10:00:00.123 * message``."""

from __future__ import annotations

import os
import sys
import time

LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3, "nothing": 4}
_MARK = {0: ".", 1: "-", 2: "*", 3: "#"}


class Logger:
    def __init__(self, level: str = "notice", path: str = ""):
        self.level = LEVELS.get(level, 2)
        self.path = path
        self.role = "M"

    def set_level(self, level: str) -> None:
        self.level = LEVELS.get(level, 2)

    def log(self, level: int, msg: str) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
        line = f"{os.getpid()}:{self.role} {stamp}.{int(now * 1000) % 1000:03d} {_MARK[level]} {msg}\n"
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()

    def debug(self, msg: str) -> None:
        self.log(0, msg)

    def verbose(self, msg: str) -> None:
        self.log(1, msg)

    def notice(self, msg: str) -> None:
        self.log(2, msg)

    def warning(self, msg: str) -> None:
        self.log(3, msg)
