"""trioredis inside a synchronous or asyncio program: a server on a thread of its own.

    with trioredis.run_in_thread({"save": ""}) as srv:
        r = redis.Redis.from_url(srv.url)

The server runs its own ``trio.run`` on a background thread (the one place a thread pays here:
the caller's program is not a Trio program, so the server needs a loop of its own). The
context manager returns once the server answers on its port and, on exit, cancels the server's
scope and joins the thread: connections get the usual shutdown grace, nothing is left running.
Trio programs use ``await nursery.start(trioredis.serve, config)`` instead.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from functools import partial
from typing import Any

import trio

from .config import Config
from .core import Server
from .log import Logger
from .server import serve


class ServerThread:
    """A running trioredis on 127.0.0.1 (``port``, ``url``), owned by its own thread."""

    def __init__(self, config: dict | None = None, *, loglevel: str = "warning",
                 start_timeout: float = 30.0):
        cfg = Config()
        options: dict[str, Any] = {"port": 0, "bind": "127.0.0.1", "save": ""}
        options.update({k.replace("_", "-"): v for k, v in (config or {}).items()})
        self._own_dir = None
        if "dir" not in options:
            self._own_dir = tempfile.mkdtemp(prefix="trioredis-")
            options["dir"] = self._own_dir
        options.setdefault("loglevel", loglevel)
        for name, value in options.items():
            cfg.set(name, "yes" if value is True else "no" if value is False else str(value),
                    startup=True)
        self.config = cfg
        self.server = Server(cfg)
        self.port = 0
        self.exit_code: int | None = None
        self._start_timeout = start_timeout
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        password = self.config["requirepass"]
        auth = f":{password}@" if password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def start(self) -> ServerThread:
        self._thread = threading.Thread(target=self._run, name=f"trioredis-{id(self):x}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            self.stop()
            raise TimeoutError(f"trioredis did not start within {self._start_timeout} s")
        if self._error is not None:
            self._cleanup()
            raise self._error
        return self

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as e:  # reported by start() (before ready) or kept for stop()
            while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
                e = e.exceptions[0]  # the nursery's group around the one real error
            self._error = e
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        log = Logger(self.config["loglevel"], self.config["logfile"])
        async with trio.open_nursery() as nursery:
            self._scope = nursery.cancel_scope
            self.port = await nursery.start(partial(serve, server=self.server, log=log))
            self._ready.set()

    def call(self, fn, *args):
        """Run ``fn(*args)`` on the server's thread (inspect or change its state safely)."""
        return trio.from_thread.run_sync(partial(fn, *args), trio_token=self._token)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and join its thread (idempotent)."""
        thread = self._thread
        if thread is not None and thread.is_alive() and self._token is not None:
            try:
                trio.from_thread.run_sync(self._cancel, trio_token=self._token)
            except trio.RunFinishedError:
                pass
            thread.join(timeout)
        self._cleanup()

    def _cancel(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    def _cleanup(self) -> None:
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run_in_thread(config: dict | None = None, **kwargs) -> ServerThread:
    """A server on a background thread with its own Trio loop; use it as a context manager
    (or call ``.start()`` and ``.stop()``). ``config`` takes Redis's parameter names
    (``{"appendonly": "yes", "maxmemory": "10mb"}``); ``port`` defaults to a free one, ``dir``
    to a temporary directory removed at the end, ``save`` to no snapshots."""
    return ServerThread(config, **kwargs)
