"""Where feature modules attach per-server state: ``SERVER_INIT``.

Each function in it runs at the end of every ``core.Server()``: the pub/sub hub, replication,
persistence, the AOF, the HA group and the gateway add their state there. It lives below
``core`` so that those modules register without importing the server (no import circle).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SERVER_INIT: list[Callable[[Any], None]] = []
