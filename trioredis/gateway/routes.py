"""Plain HTTP routes besides the dashboard's static files: ``GET /metrics`` (Prometheus).

Kept apart from server.py (the socket side) so the routes are plain functions of a parsed
request: sans-I/O, answered with complete HTTP responses. The gateway's own counters (sessions
opened, drops by reason, refused upgrades) live here too, read by :mod:`trioredis.metrics`.
"""

from __future__ import annotations

from . import protocol as P


def stats_of(gw) -> dict:
    """The gateway's counters (created on first use)."""
    st = getattr(gw, "_stats", None)
    if st is None:
        st = gw._stats = {"opened": 0, "drops": {}, "refused": {}}
    return st


def count_drop(gw, reason: str) -> None:
    d = stats_of(gw)["drops"]
    d[reason] = d.get(reason, 0) + 1


def count_refused(gw, status: int) -> None:
    d = stats_of(gw)["refused"]
    d[status] = d.get(status, 0) + 1


def gateway_numbers(gw) -> dict:
    """What /metrics reports about the gateway itself."""
    st = stats_of(gw)
    sessions = list(gw.sessions)
    return {
        "sessions": len(sessions),
        "opened": st["opened"],
        "subscriptions": {
            "stream": sum(len(s.subs) for s in sessions),
            "group": sum(len(s.groups) for s in sessions),
            "info": sum(1 for s in sessions if s.info_sub is not None),
        },
        "queued": sum(s.out_bytes for s in sessions),
        "drops": dict(st["drops"]),
        "refused": dict(st["refused"]),
    }


def answer(gw, req: P.HttpRequest) -> bytes | None:
    """The response for a route of this module, or None (not one of ours)."""
    if req.path == "/metrics":
        return _metrics(gw, req)
    return None


def _metrics(gw, req: P.HttpRequest) -> bytes:
    if req.method not in ("GET", "HEAD"):
        return P.http_response(405, b"method not allowed\n", headers=[("Allow", "GET, HEAD")])
    expected = P.expected_token(gw.config)
    if expected and not P.token_ok(P.request_token(req), expected):
        # Prometheus sends it as `authorization: {credentials: ...}` (a Bearer header)
        return P.http_response(401, b"a token is required: Authorization: Bearer <token>\n",
                               headers=[("WWW-Authenticate", "Bearer")])
    try:
        from .. import metrics
    except ImportError as e:  # prometheus-client is optional (the gateway extra)
        return P.http_response(501, f"/metrics needs prometheus-client: pip install "
                                    f"'trioredis[gateway]' ({e})\n".encode())
    body = metrics.render(gw.server, gateway_numbers(gw))
    return P.http_response(200, body, metrics.CONTENT_TYPE, head_only=req.method == "HEAD")
