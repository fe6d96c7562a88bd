"""Sans-I/O request parser: bytes in, lists of arguments out.

``hiredis.Reader`` does the work on the fast path. A reference parser in Python, written after
Redis's ``processMultibulkBuffer``/``processInlineBuffer``, takes over where hiredis cannot
help: inline requests (telnet, ``redis-cli`` pipes), requests hiredis rejects or accepts but
Redis does not (nested arrays, integers, nil bulks), and the header limits
(``proto-max-bulk-len``, the multibulk length, unauthenticated limits) that must be refused from
the header rather than after the payload has been buffered.

The parser keeps the bytes fed since the stream was last at a request boundary, so the Python
parser can always restart from a known boundary.
"""

from __future__ import annotations

import hiredis

INLINE_MAX = 64 * 1024  # PROTO_INLINE_MAX_SIZE
INT_MAX = 2**31 - 1
UNAUTH_MAX_ARGS = 10
UNAUTH_MAX_BULK = 16384
# Pending (incomplete) request sizes at which the Python parser inspects the headers.
CHECK_PENDING_AUTH = 64 * 1024
CHECK_PENDING_UNAUTH = 0
# Realign at least this often when the stream never ends on a request boundary.
RETAIN_MAX = 4 * 1024 * 1024

_ESCAPES = {
    ord("n"): 10,
    ord("r"): 13,
    ord("t"): 9,
    ord("b"): 8,
    ord("a"): 7,
}
_HEX = b"0123456789abcdefABCDEF"


class ParseError(Exception):
    """Carries Redis's protocol error text (without ``ERR Protocol error: ``)."""


def _string2ll(s: bytes):
    """Redis's strict ``string2ll``: no sign but '-', no leading zeros, no spaces."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if s == b"0":
        return 0
    neg = s[0] == 45
    digits = s[1:] if neg else s
    if not digits or not (49 <= digits[0] <= 57):
        return None
    for c in digits:
        if not 48 <= c <= 57:
            return None
    v = int(digits)
    return -v if neg else v


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline request like Redis's ``sdssplitargs``; ParseError on bad quotes."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    raise ParseError("unbalanced quotes in request")
                c = line[i]
                if (
                    c == 92
                    and i + 3 < n
                    and line[i + 1] == 120
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        raise ParseError("unbalanced quotes in request")
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    raise ParseError("unbalanced quotes in request")
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        raise ParseError("unbalanced quotes in request")
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\v\f":
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


def parse_python(buf: bytes, pos: int, authenticated: bool, max_bulk: int):
    """Parse whole requests from ``buf[pos:]`` the way Redis does.

    Returns ``(requests, pos)`` where ``pos`` is where the first incomplete request starts.
    Raises ParseError with the requests parsed before the error attached as ``.requests``.
    """
    out: list[list[bytes]] = []
    n = len(buf)
    try:
        while pos < n:
            if buf[pos] == 42:  # '*'
                nl = buf.find(b"\r", pos)
                if nl < 0 or nl + 1 >= n:
                    if n - pos > INLINE_MAX:
                        raise ParseError("too big mbulk count string")
                    break
                count = _string2ll(buf[pos + 1 : nl])
                if count is None or count > INT_MAX:
                    raise ParseError("invalid multibulk length")
                if not authenticated and count > UNAUTH_MAX_ARGS:
                    raise ParseError("unauthenticated multibulk length")
                p = nl + 2
                if count <= 0:
                    pos = p
                    continue
                args = []
                complete = True
                for _ in range(count):
                    if p >= n:
                        complete = False
                        break
                    if buf[p] != 36:  # '$'
                        raise ParseError("expected '$', got '%s'" % chr(buf[p]))
                    nl = buf.find(b"\r", p)
                    if nl < 0 or nl + 1 >= n:
                        if n - p > INLINE_MAX:
                            raise ParseError("too big bulk count string")
                        complete = False
                        break
                    ln = _string2ll(buf[p + 1 : nl])
                    if ln is None or ln < 0 or ln > max_bulk:
                        raise ParseError("invalid bulk length")
                    if not authenticated and ln > UNAUTH_MAX_BULK:
                        raise ParseError("unauthenticated bulk length")
                    p = nl + 2
                    if p + ln + 2 > n:
                        complete = False
                        break
                    args.append(buf[p : p + ln])
                    p += ln + 2
                if not complete:
                    break
                out.append(args)
                pos = p
            else:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    if n - pos > INLINE_MAX:
                        raise ParseError("too big inline request")
                    break
                line = buf[pos:nl]
                if line.endswith(b"\r"):
                    line = line[:-1]
                pos = nl + 1
                args = split_inline(line)
                if args:
                    out.append(args)
    except ParseError as e:
        e.requests = out
        raise
    return out, pos


class RequestParser:
    """Feed it bytes with :meth:`feed`; it returns the complete requests.

    After a protocol error :attr:`error` holds Redis's message; the requests before the error
    were still returned and should be executed before the error reply is sent.
    """

    __slots__ = (
        "_reader",
        "_retained",
        "_retained_len",
        "_delivered",
        "_pybuf",
        "_check_at",
        "authenticated",
        "max_bulk",
        "error",
    )

    def __init__(self, max_bulk: int = 512 * 1024 * 1024, authenticated: bool = True):
        self._reader = hiredis.Reader()
        self._retained: list[bytes] = []  # chunks fed to hiredis since the last boundary
        self._retained_len = 0
        self._delivered = 0  # requests hiredis returned since the last boundary
        self._pybuf = b""  # unparsed bytes while the Python parser holds the stream
        self.max_bulk = max_bulk
        self.authenticated = authenticated
        self._check_at = CHECK_PENDING_AUTH if authenticated else CHECK_PENDING_UNAUTH
        self.error: str | None = None

    def feed(self, data: bytes) -> list:
        if self._pybuf or (not self._retained and data[0] != 42):
            return self._feed_python(self._pybuf + data, 0)
        reader = self._reader
        reader.feed(data)
        out = []
        raw = 0  # every request hiredis returned, empty ones included
        last = None
        try:
            while True:
                req = reader.gets()
                if req is False:
                    break
                raw += 1
                last = req
                if req.__class__ is not list or not req:
                    continue  # '*0' and '*-1' are ignored, as Redis does
                for a in req:
                    if a.__class__ is not bytes:
                        raise hiredis.ProtocolError
                if not self.authenticated and (
                    len(req) > UNAUTH_MAX_ARGS or max(map(len, req)) > UNAUTH_MAX_BULK
                ):
                    raise hiredis.ProtocolError
                out.append(req)
        except hiredis.ProtocolError:
            return self._recover(data)
        # hiredis's has_data() is False also when a request is half parsed with its buffer
        # used up (the chunk ended after "*3\r\n$3\r\nSET\r\n"), so a boundary is where the
        # chunk ends with the last complete request (clients encode requests one way only).
        if reader.has_data() or not raw or not data.endswith(_encoded(last)):
            self._retained.append(data)
            self._retained_len += len(data)
            self._delivered += raw
            if reader.len() > self._check_at or self._retained_len > RETAIN_MAX:
                self._check_pending()
                if self.error:
                    return out
        elif self._retained:
            self._retained.clear()
            self._retained_len = 0
            self._delivered = 0
            self._check_at = CHECK_PENDING_AUTH if self.authenticated else CHECK_PENDING_UNAUTH
        else:
            self._delivered = 0
        return out

    def _check_pending(self) -> None:
        """Inspect the incomplete request's headers with the Python parser and realign."""
        buf = b"".join(self._retained)
        pos = _advance(buf, 0, self._delivered)
        try:
            # At the start of the pending request: check its headers as far as they go.
            parse_python(buf, pos, self.authenticated, self.max_bulk)
        except ParseError as e:
            self.error = "ERR Protocol error: " + str(e)
            return
        tail = buf[pos:]
        self._retained = [tail]
        self._retained_len = len(tail)
        self._delivered = 0
        self._check_at = max(self._check_at, self._reader.len() * 2)

    def _recover(self, data: bytes) -> list:
        """hiredis refused the stream, or gave what Redis would refuse: let Python decide."""
        buf = b"".join(self._retained) + data
        skip = self._delivered
        self._reset_fast()
        return self._feed_python(buf, _advance(buf, 0, skip))

    def _feed_python(self, buf: bytes, pos: int) -> list:
        try:
            out, pos = parse_python(buf, pos, self.authenticated, self.max_bulk)
        except ParseError as e:
            self.error = "ERR Protocol error: " + str(e)
            self._pybuf = b""
            return e.requests
        rest = buf[pos:]
        if rest and rest[0] == 42:
            # Back on a multibulk boundary: hand the rest to hiredis.
            self._pybuf = b""
            out.extend(self.feed(rest))
        else:
            self._pybuf = rest
        return out

    def _reset_fast(self) -> None:
        self._reader = hiredis.Reader()
        self._retained = []
        self._retained_len = 0
        self._delivered = 0

    def set_authenticated(self, value: bool) -> None:
        self.authenticated = value
        self._check_at = CHECK_PENDING_AUTH if value else CHECK_PENDING_UNAUTH


def _encoded(req) -> bytes:
    """The canonical RESP encoding of a request as hiredis returned it."""
    if req is None:
        return b"*-1\r\n"
    return b"*%d\r\n" % len(req) + b"".join([b"$%d\r\n%s\r\n" % (len(a), a) for a in req])


def _advance(buf: bytes, pos: int, count: int) -> int:
    """Skip ``count`` multibulk requests that hiredis already returned; returns the new pos."""
    for _ in range(count):
        nl = buf.find(b"\r", pos)
        n = _string2ll(buf[pos + 1 : nl]) or 0
        pos = nl + 2
        for _ in range(max(n, 0)):
            nl = buf.find(b"\r", pos)
            pos = nl + 2 + _string2ll(buf[pos + 1 : nl]) + 2
    return pos
