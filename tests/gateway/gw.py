"""Helpers for the async gateway tests: the server and the WebSocket clients share one
``trio.run`` (pytest-trio), so producing an entry is a plain ``server.execute`` call."""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import asynccontextmanager
from functools import partial

import trio
from trio_websocket import open_websocket_url

from trioredis import Config, Server, serve


class Gateway:
    """A running server with the gateway on; ``xadd``/``cmd`` run on an in-process client."""

    def __init__(self, server: Server):
        self.server = server
        self.port = server.gateway_port
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.client = server.new_client()
        self.client.authenticated = True
        self.client.update_guard()

    def cmd(self, *args):
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.server.execute(self.client, argv)

    def xadd(self, key: str, *fields, id: str = "*") -> str:
        if not fields:
            fields = ("f", "v")
        reply = self.cmd("XADD", key, id, *fields)
        assert isinstance(reply, bytes), reply
        return reply.decode()

    def connect(self, path: str = "/ws", **kw):
        kw.setdefault("message_queue_size", 16)
        kw.setdefault("max_message_size", 64 * 1024 * 1024)
        return open_websocket_url(f"ws://127.0.0.1:{self.port}{path}", **kw)


@asynccontextmanager
async def running(**config):
    cfg = Config()
    settings = {"port": "0", "ws-port": "-1", "save": "", "loglevel": "warning",
                "dir": tempfile.mkdtemp(prefix="trioredis-gw-")}
    settings.update({k.replace("_", "-"): str(v) for k, v in config.items()})
    for k, v in settings.items():
        cfg.set(k, v, startup=True)
    srv = Server(cfg)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(serve, server=srv))
            yield Gateway(srv)
            nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(settings["dir"], ignore_errors=True)


async def recv(ws, timeout: float = 5.0) -> dict:
    with trio.fail_after(timeout):
        return json.loads(await ws.get_message())


async def send(ws, obj) -> None:
    await ws.send_message(json.dumps(obj))


async def hello(ws) -> dict:
    msg = await recv(ws)
    assert msg["op"] == "welcome", msg
    return msg


async def request(ws, obj) -> dict:
    """Send a request and return its answer (skipping nothing: call it when no entries flow)."""
    await send(ws, obj)
    return await recv(ws)
