"""WebSocket gateway: browsers subscribe to streams and get new entries as they are added.

Off unless ``ws-port`` is set (``trioredis server --ws-port 8080``). It then runs in the
server's own Trio nursery: the listener is bound in the start-up hook (so the port is known
when ``serve`` reports it started; ``ws-port -1`` picks a free one, read back from
``server.gateway_port``) and served by a ``tasks`` hook. The Trio side (and trio-websocket) is
imported only then. Protocol and options: docs/gateway.md.
"""

from __future__ import annotations

from ..config import param
from ..errors import StartupError
from ..extensions import SERVER_INIT

param("ws-port", "int", 0, mutable=False, minimum=-1, maximum=65535, hidden=True)
param("ws-bind", "list", ["127.0.0.1"], mutable=False, hidden=True)
param("ws-allowed-origins", "list", [], hidden=True)
param("ws-token", "str", "", hidden=True)
param("ws-send-queue", "memory", 1024 * 1024, minimum=1024, hidden=True)
param("ws-send-timeout", "int", 10_000, minimum=1, hidden=True)


def _init(server) -> None:
    server.gateway_port = 0
    server.gateway = None
    if not server.config["ws-port"]:
        return
    state = {}

    def startup(runner) -> None:
        try:
            from .server import Gateway
        except ImportError as e:  # trio-websocket is an optional dependency
            raise StartupError(
                f"The WebSocket gateway (ws-port) needs trio-websocket: "
                f"pip install 'trioredis[gateway]' ({e})"
            ) from None
        gw = state["gw"] = server.gateway = Gateway(server)
        try:
            gw.bind(runner)
        except OSError as e:
            raise StartupError(
                f"Could not create the WebSocket gateway's listening socket "
                f"{' '.join(server.config['ws-bind'])}:{server.config['ws-port']}: {e.strerror}"
            ) from None

    async def run() -> None:
        gw = state.get("gw")
        if gw is not None:
            await gw.run()

    server.add_hook("startup", startup)
    server.add_hook("tasks", run)


SERVER_INIT.append(_init)
