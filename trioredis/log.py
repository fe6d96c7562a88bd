"""Log lines in Redis's format: ``pid:M 22 Nov 2026 10:00:00.123 * message``.

Also Redis's start-up logo (printed raw, as Redis's ``serverLogRaw`` does), and the copy of
each line sent to syslog when ``syslog-enabled`` is set.
"""

from __future__ import annotations

import os
import sys
import time

DEBUG, VERBOSE, NOTICE, WARNING = 0, 1, 2, 3
LEVELS = {"debug": DEBUG, "verbose": VERBOSE, "notice": NOTICE, "warning": WARNING, "nothing": 4}
_MARK = {0: ".", 1: "-", 2: "*", 3: "#"}

# Redis's asciilogo.h, with the program's name where Redis says "Redis".
_LOGO = r"""                _._                                                  
           _.-``__ ''-._                                             
      _.-``    `.  `_.  ''-._           {name} {version} ({sha1}/{dirty}) {bits} bit
  .-`` .-```.  ```\/    _.,_ ''-._                                  
 (    '      ,       .-`  | `,    )     Running in {mode} mode
 |`-._`-...-` __...-.``-._|'` _.-'|     Port: {port}
 |    `-._   `._    /     _.-'    |     PID: {pid}
  `-._    `-._  `-./  _.-'    _.-'                                   
 |`-._`-._    `-.__.-'    _.-'_.-'|                                  
 |    `-._`-._        _.-'_.-'    |           https://redis.io       
  `-._    `-._`-.__.-'_.-'    _.-'                                   
 |`-._`-._    `-.__.-'    _.-'_.-'|                                  
 |    `-._`-._        _.-'_.-'    |                                  
  `-._    `-._`-.__.-'_.-'    _.-'                                   
      `-._    `-.__.-'    _.-'                                       
          `-._        _.-'                                           
              `-.__.-'                                               

"""  # noqa: W291 (the art's trailing blanks are Redis's)


def logo(name: str, version: str, mode: str, port: int, pid: int, bits: int = 64) -> str:
    return _LOGO.format(name=name, version=version, sha1="00000000", dirty=0, bits=bits,
                        mode=mode, port=port, pid=pid)


class Logger:
    def __init__(self, level: str = "notice", path: str = "", syslog_ident: str | None = None,
                 syslog_facility: str = "local0"):
        self.level = LEVELS.get(level, 2)
        self.path = path
        self.role = "M"
        self.syslog = None
        if syslog_ident is not None:
            self.syslog = _open_syslog(syslog_ident, syslog_facility)

    def set_level(self, level: str) -> None:
        self.level = LEVELS.get(level, 2)

    def enabled(self, level: int) -> bool:
        """Whether a line at ``level`` is written: callers skip building costly messages."""
        return level >= self.level

    def log(self, level: int, msg: str) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
        self.write(f"{os.getpid()}:{self.role} {stamp}.{int(now * 1000) % 1000:03d} {_MARK[level]} {msg}\n")
        if self.syslog is not None:
            self.syslog(level, msg)

    def raw(self, level: int, text: str) -> None:
        """Text without the line prefix (the logo), at ``level``."""
        if level >= self.level:
            self.write(text)

    def write(self, text: str) -> None:
        if self.path:
            with open(self.path, "a", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    def debug(self, msg: str) -> None:
        self.log(0, msg)

    def verbose(self, msg: str) -> None:
        self.log(1, msg)

    def notice(self, msg: str) -> None:
        self.log(2, msg)

    def warning(self, msg: str) -> None:
        self.log(3, msg)


def _open_syslog(ident: str, facility: str):
    """Redis's syslog-enabled: each line (without its prefix) also goes to syslog."""
    import syslog

    fac = getattr(syslog, f"LOG_{facility.upper()}", syslog.LOG_LOCAL0)
    syslog.openlog(ident, syslog.LOG_PID | syslog.LOG_NDELAY | syslog.LOG_NOWAIT, fac)
    prio = {0: syslog.LOG_DEBUG, 1: syslog.LOG_INFO, 2: syslog.LOG_NOTICE, 3: syslog.LOG_WARNING}

    def send(level: int, msg: str) -> None:
        syslog.syslog(prio[level], msg)

    return send
