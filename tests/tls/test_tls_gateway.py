"""The WebSocket gateway with ``ws-tls``: the dashboard over https:// and streams over wss://,
with the server's certificate; plain HTTP on that port gets nothing."""

from __future__ import annotations

import socket
import ssl

import pytest
import trio

pytest.importorskip("trio_websocket", reason="the gateway needs trio-websocket")

from trio_websocket import open_websocket_url  # noqa: E402

from ..gateway.gw import hello, recv, request, running  # noqa: E402


def client_ctx(certs) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=certs.ca)  # checks the name too, as a browser
    return ctx


async def test_wss_subscription_and_https_dashboard(certs):
    async with running(ws_tls="yes", tls_cert_file=certs.cert, tls_key_file=certs.key) as gw:
        url = f"wss://localhost:{gw.port}/ws"
        async with open_websocket_url(url, ssl_context=client_ctx(certs),
                                      message_queue_size=16) as ws:
            await hello(ws)
            answer = await request(ws, {"op": "subscribe", "streams": {"s": "0"}})
            assert answer["op"] == "subscribed", answer
            first = gw.xadd("s", "f", "v1")
            msg = await recv(ws)
            assert msg["id"] == first and msg["fields"] == {"f": "v1"}, msg
            big = "x" * 300_000  # several TLS records through the socket pair
            second = gw.xadd("s", "f", big)
            msg = await recv(ws)
            assert msg["id"] == second and msg["fields"]["f"] == big

        stream = await trio.open_ssl_over_tcp_stream("localhost", gw.port,
                                                     ssl_context=client_ctx(certs))
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        with trio.fail_after(10):
            while b"</html>" not in data.lower():
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data[:100]
        await stream.aclose()

        # plain HTTP on the TLS port: no page
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = await trio.to_thread.run_sync(lambda: s.recv(100))
            assert not reply.startswith(b"HTTP/1.1 200")


async def test_ws_tls_without_certificate_refuses_to_start(certs):
    from trioredis.errors import StartupError

    with pytest.raises(BaseException) as info:
        async with running(ws_tls="yes"):
            pass
    e = info.value
    while isinstance(e, BaseExceptionGroup):
        e = e.exceptions[0]
    assert isinstance(e, StartupError) and "Failed to configure TLS" in str(e)
