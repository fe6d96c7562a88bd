"""The gateway's wire formats, sans-I/O: HTTP request heads, the JSON messages, WebSocket frames.

Nothing here touches a socket or the keyspace. ``server.py`` feeds bytes and parsed JSON in and
sends what comes out; the tests exercise these functions directly too.

Messages (see docs/gateway.md): the browser sends JSON objects with an ``op``; the server pushes
one JSON object per stream entry, ``{"stream", "id", "fields"}``, and answers requests with
``{"op": ..., ...}`` objects. Entry frames are built once and shared by every socket that
receives the same entry (fan-out), so they are plain bytes: a complete unmasked text frame.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
from urllib.parse import parse_qs, urlsplit

from ..commands.streams.common import parse_strict_id
from ..errors import CommandError

# -- close codes (RFC 6455, section 7.4.1) ---------------------------------------------------
NORMAL = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002  # a frame wsproto cannot parse (unmasked, bad opcode...)
UNSUPPORTED_DATA = 1003  # a binary frame: we speak JSON text only
INVALID_PAYLOAD = 1007  # a text frame that is not JSON
POLICY = 1008  # authentication failed, CLIENT KILL
TOO_BIG = 1009  # a frame over MAX_MESSAGE (trio-websocket closes with it)
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013  # too slow: the send queue stayed full

# -- error codes in {"op": "error", "code": ...} ---------------------------------------------
BADREQUEST = "BADREQUEST"  # not an object, unknown op, a missing or ill-typed field
BADID = "BADID"  # an invalid stream ID
NOAUTH = "NOAUTH"  # a token is required, or the one given is wrong
NOPERM = "NOPERM"  # not allowed (ACK for a group this socket does not consume, ...)
LIMIT = "LIMIT"  # too many subscriptions on one socket

MAX_MESSAGE = 64 * 1024  # largest message a browser may send
MAX_HEAD = 16 * 1024  # largest HTTP request head
MAX_STREAMS = 128  # XREAD subscriptions per socket
MAX_GROUPS = 16  # consumer-group subscriptions per socket
MAX_COUNT = 1000  # COUNT per read or range request
DEFAULT_COUNT = 100
MAX_NAME = 1024  # longest stream, group or consumer name

_ENCODER = json.JSONEncoder(separators=(",", ":"))
encode_json = _ENCODER.encode


class RequestError(Exception):
    """A request the gateway refuses: answered with an error message, the socket stays open."""

    def __init__(self, code: str, text: str, stream: str | None = None):
        super().__init__(text)
        self.code = code
        self.text = text
        self.stream = stream


# -- frames ------------------------------------------------------------------------------------


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (what a server sends) around UTF-8 ``payload``."""
    n = len(payload)
    if n < 126:
        return b"\x81" + bytes((n,)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


def close_frame(code: int, reason: str = "") -> bytes:
    """An unmasked close frame (used when there is no time for the closing handshake)."""
    payload = code.to_bytes(2, "big") + clip_reason(reason).encode()
    return b"\x88" + bytes((len(payload),)) + payload


def clip_reason(reason: str) -> str:
    """A close reason fits a control frame: at most 123 bytes of UTF-8."""
    b = reason.encode()
    if len(b) <= 123:
        return reason
    return b[:123].decode("utf-8", "ignore")


def message(obj: dict) -> bytes:
    """A JSON message as a frame."""
    return text_frame(encode_json(obj).encode())


def error_message(code: str, text: str, ref=None, stream: str | None = None) -> bytes:
    obj = {"op": "error", "code": code, "error": text}
    if stream is not None:
        obj["stream"] = stream
    if ref is not None:
        obj["ref"] = ref
    return message(obj)


# -- entries -----------------------------------------------------------------------------------


def fields_json(fv, obj: dict) -> None:
    """Put an entry's field/value list into ``obj`` as ``fields`` (plus ``b64`` / ``pairs``).

    Values that are valid UTF-8 are sent as text, others as base64 and their field names
    listed in ``b64``. A JSON object cannot hold repeated or non-UTF-8 field names, so such
    an entry also carries the exact list as ``pairs``: ``[[name, value], ...]``, all base64.
    """
    fields = {}
    b64 = None
    exact = True
    n = len(fv)
    for k in range(0, n - 1, 2):
        f = fv[k]
        v = fv[k + 1]
        try:
            name = f.decode()
        except UnicodeDecodeError:
            name = f.decode("utf-8", "replace")
            exact = False
        if name in fields:
            exact = False
        try:
            fields[name] = v.decode()
        except UnicodeDecodeError:
            fields[name] = base64.b64encode(v).decode()
            if b64 is None:
                b64 = []
            b64.append(name)
    obj["fields"] = fields
    if b64 is not None:
        obj["b64"] = b64
    if not exact:
        obj["pairs"] = [
            [base64.b64encode(fv[k]).decode(), base64.b64encode(fv[k + 1]).decode()]
            for k in range(0, n - 1, 2)
        ]


def entry_obj(idb: bytes, fv, stream: str | None = None) -> dict:
    """One entry as a JSON object; ``fv`` None (a deleted pending entry) gives ``fields: null``."""
    obj = {"stream": stream, "id": idb.decode()} if stream is not None else {"id": idb.decode()}
    if fv is None or fv.__class__ is not list and fv.__class__ is not tuple:
        obj["fields"] = None
    else:
        fields_json(fv, obj)
    return obj


def entry_frame(stream: str, idb: bytes, fv, extra: dict | None = None) -> bytes:
    """The pushed message for one entry: ``{"stream", "id", "fields"}`` (+ ``extra``)."""
    obj = entry_obj(idb, fv, stream)
    if extra:
        obj.update(extra)
    return text_frame(encode_json(obj).encode())


# -- requests ----------------------------------------------------------------------------------


def _name(req: dict, field: str, what: str | None = None) -> bytes:
    v = req.get(field)
    if not isinstance(v, str) or not v:
        raise RequestError(BADREQUEST, f"'{field}' must be a non-empty string")
    b = v.encode()
    if len(b) > MAX_NAME:
        raise RequestError(BADREQUEST, f"'{field}' is longer than {MAX_NAME} bytes")
    return b


def _count(req: dict, default: int = DEFAULT_COUNT) -> int:
    v = req.get("count", default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise RequestError(BADREQUEST, "'count' must be a positive integer")
    return min(v, MAX_COUNT)


def _flag(req: dict, field: str, default: bool) -> bool:
    v = req.get(field, default)
    if not isinstance(v, bool):
        raise RequestError(BADREQUEST, f"'{field}' must be true or false")
    return v


def check_id(value, stream: str) -> bytes:
    """A stream ID as XREAD takes it (``ms-seq`` or ``ms``); RequestError BADID otherwise."""
    if not isinstance(value, str):
        raise RequestError(BADID, "a stream ID must be a string", stream)
    b = value.encode()
    try:
        parse_strict_id(b)
    except CommandError:
        raise RequestError(BADID, f"invalid stream ID '{value[:64]}'", stream) from None
    return b


def parse_subscribe(req: dict) -> tuple[list[tuple[str, object]], int]:
    """``{"streams": {name: id or "$"}, "count": n}`` -> ([(name, id)], count).

    IDs are checked by the caller one stream at a time (a bad one fails only its stream).
    """
    streams = req.get("streams")
    if not isinstance(streams, dict) or not streams:
        raise RequestError(BADREQUEST, "'streams' must be an object of stream name -> ID or '$'")
    out = []
    for name, start in streams.items():
        if not name or len(name.encode()) > MAX_NAME:
            raise RequestError(BADREQUEST, "stream names must be non-empty and short", name)
        out.append((name, start))
    return out, _count(req)


def parse_unsubscribe(req: dict) -> list[str]:
    streams = req.get("streams")
    if isinstance(streams, dict):
        streams = list(streams)
    if not isinstance(streams, list) or not all(isinstance(s, str) for s in streams):
        raise RequestError(BADREQUEST, "'streams' must be a list of stream names")
    return streams


def parse_range(req: dict) -> tuple[bytes, bytes, bytes, int, bool]:
    key = _name(req, "stream")
    start = req.get("start", "-")
    end = req.get("end", "+")
    if not isinstance(start, str) or not isinstance(end, str) or not start or not end:
        raise RequestError(BADID, "'start' and 'end' must be IDs, '-', '+' or '(ID'",
                           key.decode())
    return key, start.encode(), end.encode(), _count(req), _flag(req, "reverse", False)


def parse_group(req: dict) -> tuple[bytes, bytes, bytes, int, bool, bool]:
    """subscribe-group: (stream, group, consumer, count, noack, pending first)."""
    return (_name(req, "stream"), _name(req, "group"), _name(req, "consumer"), _count(req),
            _flag(req, "noack", False), _flag(req, "pending", True))


def parse_ack(req: dict) -> tuple[bytes, bytes, list[bytes]]:
    key = _name(req, "stream")
    group = _name(req, "group")
    ids = req.get("ids")
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not ids or len(ids) > MAX_COUNT:
        raise RequestError(BADREQUEST, f"'ids' must be a list of 1 to {MAX_COUNT} IDs",
                           key.decode())
    return key, group, [check_id(i, key.decode()) for i in ids]


def error_code(text: str) -> str:
    """The code for a Redis error reply: its first word, BADID for ID errors."""
    if text.startswith("ERR ") and " ID" in text:
        return BADID
    return text.split(" ", 1)[0]


# -- HTTP --------------------------------------------------------------------------------------


class HttpError(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status
        self.text = text


class HttpRequest:
    """A parsed request head: method, path, query (first value per name), lower-cased headers."""

    __slots__ = ("method", "target", "path", "query", "headers")

    def __init__(self, method: str, target: str, headers: dict[str, str]):
        self.method = method
        self.target = target
        parts = urlsplit(target)
        self.path = parts.path or "/"
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.headers = headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def is_upgrade(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        return (self.headers.get("upgrade", "").lower() == "websocket"
                and any(t.strip() == "upgrade" for t in conn.split(",")))


def head_end(buf: bytes) -> int:
    """Where the request head ends (after the blank line), or -1."""
    i = buf.find(b"\r\n\r\n")
    return i + 4 if i >= 0 else -1


def parse_head(head: bytes) -> HttpRequest:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
        raise HttpError(400, "bad request") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "bad request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, "bad header line")
        name = name.lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return HttpRequest(parts[0], parts[1], headers)


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 426: "Upgrade Required",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
            503: "Service Unavailable"}


def http_response(status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8",
                  headers: list[tuple[str, str]] = (), head_only: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
             f"Content-Type: {content_type}",
             f"Content-Length: {len(body)}",
             "Connection: close",
             "Cache-Control: no-store",
             "X-Content-Type-Options: nosniff"]
    lines += [f"{k}: {v}" for k, v in headers]
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out if head_only else out + body


# -- access control ----------------------------------------------------------------------------


def _literal_host(host: str) -> bool:
    """``localhost`` or an IP address: names DNS rebinding cannot point elsewhere."""
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if host.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Whether a browser page from ``origin`` may open the socket.

    No Origin header: not a browser, allowed (a browser always sends one). Otherwise the
    origin must be in ``ws-allowed-origins`` (``*`` allows any), or be the gateway's own page
    reached by IP address or ``localhost`` (same origin; a host name could be DNS-rebound).
    """
    if origin is None:
        return True
    o = origin.strip().rstrip("/").lower()
    for a in allowed:
        if a == "*" or a.rstrip("/").lower() == o:
            return True
    if host:
        h = host.strip().lower()
        if o in (f"http://{h}", f"https://{h}") and _literal_host(h):
            return True
    return False


def expected_token(config) -> str:
    """What a socket must present: ``ws-token`` if set, else ``requirepass``; '' = nothing."""
    return config["ws-token"] or config["requirepass"]


def token_ok(given, expected: str) -> bool:
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def request_token(req: HttpRequest) -> str | None:
    """A token in ``Authorization: Bearer ...`` or the ``token`` query parameter."""
    auth = req.header("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
    return req.query.get("token")
