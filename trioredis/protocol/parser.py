"""Sans-I/O request parser: bytes in, lists of arguments out, with Redis 7.0's exact errors.

Two parsers share the stream:

* **hiredis** (fast path) parses runs of *complete* multibulk requests. It must never see a
  request that Redis would read differently, and never keep a half-read aggregate whose
  header announces millions of elements: hiredis preallocates that list, and freeing it later
  stalls the event loop for seconds (``*2147483647\\r\\n`` alone costs ~6 s, a count of
  4294967295 raises MemoryError, and 1024 nested ``*99999`` headers cost ~1 s). So a run goes
  to hiredis only when a cheap scan finds no ``*`` followed by 4+ digits (a request of 1000+
  arguments takes the Python path) and none of the type bytes hiredis accepts but Redis refuses
  (``+ ( =`` read as strings, ``~ > |`` aggregates), no single bulk can exceed
  ``proto-max-bulk-len``, and a sentinel fed after the run comes back alone, proving the run
  ended on a request boundary.
* **Python** (reference path), written after Redis's ``processMultibulkBuffer`` and
  ``processInlineBuffer``, parses everything else: inline requests, the partial request at
  the end of a read (so header limits are checked the moment a header is complete, as Redis
  does), unauthenticated clients, and any run hiredis was not given or gave back. It keeps its
  state between reads; a large bulk arriving over many reads is collected in a list of chunks,
  so the cost stays linear.

Two shortcuts come first, each proven equal to the paths above by property tests: a read
that is one small request whose leading ``*`` is its only aggregate or refused type byte goes
to hiredis alone, and a read of whole inline lines without quotes, NUL, ``\\v`` or ``\\f`` is
split on whitespace.

Each read's run is split at the last ``\\r\\n*`` (the likely start of the last request): the
complete requests before it go to hiredis in one call, the tail (often a partial request)
in a second; whatever hiredis does not take back cleanly is re-parsed by Python from the
start of that run, which is always a known request boundary.
"""

from __future__ import annotations

import re

import hiredis

INLINE_MAX = 64 * 1024  # PROTO_INLINE_MAX_SIZE
INT_MAX = 2**31 - 1
LLONG_MAX = 2**63 - 1
UNAUTH_MAX_ARGS = 10
UNAUTH_MAX_BULK = 16384

# A multibulk count of 1000 or more: never let hiredis preallocate it. hiredis nests at most
# 1024 deep, so a run it refuses can leave at most ~1M list slots to free (a few ms).
_BIG_COUNT = re.compile(rb"\*[1-9][0-9]{3}").search
# The same check and the type bytes, in one call: cheaper on short runs, slower on long ones.
_UNSAFE = re.compile(rb"[+(=~>|]|\*[1-9][0-9]{3}").search
_LONE_SPECIAL = b"+(=~>|*%"  # the type bytes above plus every aggregate header
_SPECIAL = re.compile(rb"[+(=~>|*]").search
_BIG_AGGREGATE = re.compile(rb"[~>|%][1-9][0-9]{3}").search
_SMALL = 512  # runs up to this long take the one-call safety check
# Fed after a run: hiredis returns b"S" as the last reply only if the run ended on a boundary.
_SENTINEL = b"+S\r\n"
_SPACE = b" \t\n\v\f\r"  # C isspace()
_SPLIT_SLOW = re.compile(b"[\"'\x00\x0b\x0c]").search
_TOKEN_END = b" \n\r\t"  # what ends an unquoted token in sdssplitargs ('\0' ends the line)
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


class ParseError(Exception):
    """Carries Redis's protocol error text (without ``ERR Protocol error: ``)."""


def _string2ll(s: bytes):
    """Redis's strict ``string2ll``: optional '-', no leading zeros, no spaces, 64-bit range."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if s == b"0":
        return 0
    neg = s[0] == 45
    digits = s[1:] if neg else s
    if not digits or not (49 <= digits[0] <= 57) or not digits.isdigit():
        return None
    v = int(digits)
    if neg:
        return -v if v <= LLONG_MAX + 1 else None
    return v if v <= LLONG_MAX else None


def _find(buf: bytes, char: bytes, pos: int) -> int:
    """``strchr(buf + pos, char)`` on a NUL-terminated buffer: a NUL byte ends the search."""
    i = buf.find(char, pos)
    if i > pos and buf.find(b"\0", pos, i) >= 0:
        return -1
    return i


def _last_start(buf: bytes, pos: int) -> int:
    """Index of the last '*' after ``pos`` that follows a CRLF, or -1: where the last request
    of a pipelined read most likely starts. Single-byte reverse search is memrchr-fast."""
    rfind = buf.rfind
    i = rfind(b"*", pos + 2)
    tries = 0
    while i > 0 and (buf[i - 1] != 10 or buf[i - 2] != 13):
        tries += 1
        if tries > 8:  # many '*' in payloads: search for the whole pattern instead
            i = rfind(b"\r\n*", pos, i)
            return i + 2 if i >= 0 else -1
        i = rfind(b"*", pos + 2, i)
    return i


def split_inline(line: bytes) -> list[bytes]:
    """Split a line like Redis's ``sdssplitargs``; ParseError("unbalanced quotes ...").

    Quotes may start mid-token (``a"b c"`` is one argument ``ab c``); a closing quote must be
    followed by whitespace or the end; ``\\xHH`` and ``\\n \\r \\t \\b \\a`` escapes work in
    double quotes, only ``\\'`` in single quotes. Leading blanks are C ``isspace`` (``\\v`` and
    ``\\f`` too) but only space, tab, CR and LF end an unquoted token; a NUL ends the line.
    """
    if _SPLIT_SLOW(line) is None:
        return line.split()  # no quotes, NUL, \v or \f: plain whitespace splitting is exact
    z = line.find(b"\0")
    if z >= 0:
        line = line[:z]
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if i >= n:
                if inq or insq:
                    raise ParseError("unbalanced quotes in request")
                break
            c = line[i]
            if inq:
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
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        raise ParseError("unbalanced quotes in request")
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        raise ParseError("unbalanced quotes in request")
                    i += 1
                    break
                else:
                    cur.append(c)
            elif c in _TOKEN_END:
                i += 1
                break
            elif c == 34:
                inq = True
            elif c == 39:
                insq = True
            else:
                cur.append(c)
            i += 1
        args.append(bytes(cur))


def _canonical_size(req: list) -> int:
    """Bytes of ``req`` encoded as Redis's clients do: ``*N`` then ``$len`` bulk strings."""
    n = len(str(len(req))) + 3
    for a in req:
        la = len(a)
        n += la + len(str(la)) + 5
    return n


class RequestParser:
    """Feed it bytes with :meth:`feed`; it returns the complete requests, in order.

    After a protocol error :attr:`error` holds Redis's message (``ERR Protocol error: ...``);
    the requests before the bad bytes were still returned and are executed before the error
    reply is sent and the connection closed. Later feeds return nothing.
    """

    __slots__ = (
        "_reader",
        "_q",
        "_mb",
        "_bl",
        "_args",
        "_chunks",
        "_have",
        "authenticated",
        "max_bulk",
        "error",
    )

    def __init__(self, max_bulk: int = 512 * 1024 * 1024, authenticated: bool = True):
        self._reader = hiredis.Reader()
        # Python parser state, as Redis's client fields:
        self._q = b""  # unparsed bytes (qb_pos onwards)
        self._mb = 0  # multibulklen: elements still to read of the current request
        self._bl = -1  # bulklen: length of the bulk being read, -1 before its header
        self._args: list[bytes] = []
        self._chunks: list[bytes] = []  # a large bulk's payload, collected across reads
        self._have = 0
        self.max_bulk = max_bulk
        self.authenticated = authenticated
        self.error: str | None = None

    def set_authenticated(self, value: bool) -> None:
        self.authenticated = value

    def held(self) -> tuple[int, int]:
        """(bytes kept for an incomplete request, length of the bulk being read or -1): the
        query buffer CLIENT LIST reports."""
        return len(self._q) + self._have, self._bl

    def feed(self, data: bytes) -> list:
        """Parse ``data`` (any split of the stream); returns the requests it completed."""
        if self._mb or self._q:
            if self.error is not None:
                return []
            return self._resume(data)
        if not data or self.error is not None:
            return []
        if data[0] == 42 and self.authenticated:
            n = len(data)
            if (
                n <= _SMALL
                and n <= self.max_bulk
                and data[n - 1] == 10
                and len(data.translate(None, _LONE_SPECIAL)) == n - 1
                and data.find(b"\r", 2, 5) > 0
            ):
                # The commonest read: one small request whose leading '*' is the only
                # aggregate or type byte Redis refuses, with a count below 1000. No sentinel
                # is needed: with no aggregate header left, bytes after the request could only
                # leave hiredis mid-element by ending on a type byte, and the read ends in LF.
                reader = self._reader
                reader.feed(data)
                try:
                    req = reader.gets()
                    if req.__class__ is list and reader.gets() is False and not reader.has_data():
                        for a in req:
                            if a.__class__ is not bytes:
                                break
                        else:
                            return [req] if req else []
                except (ValueError, TypeError, hiredis.ProtocolError, MemoryError):
                    pass
                self._reader = hiredis.Reader()
            return self._fast(data, 0)
        if data[-1] == 10 and data[0] != 42 and data.find(b"\n*") < 0 and _SPLIT_SLOW(data) is None:
            # Whole inline lines only (redis-benchmark's PING_INLINE, telnet): no quote, NUL,
            # \v or \f, so each line splits on whitespace exactly as sdssplitargs does.
            return [args for args in map(bytes.split, data.split(b"\n")) if args]
        return self._python(data, 0, True)

    # -- fast path ---------------------------------------------------------------------------

    def _fast(self, buf: bytes, pos: int) -> list:
        """Parse ``buf[pos:]``, which starts on a request boundary with '*'."""
        out: list = []
        end = len(buf)
        # Most reads end on a request boundary: try the whole run first.
        if buf[end - 1] == 10 and self._hiredis(buf, pos, end, out):
            return out
        if end - pos > _SMALL:
            # Split at the likely start of the last request: whole requests, then the tail.
            i = _last_start(buf, pos)
            if i > 0 and self._hiredis(buf, pos, i, out):
                pos = i
        out.extend(self._python(buf, pos, False))
        return out

    def _hiredis(self, buf: bytes, start: int, end: int, out: list) -> bool:
        """Let hiredis parse ``buf[start:end]``: True if it took exactly whole requests."""
        if end - start > self.max_bulk:
            return False  # it may hold a bulk Redis refuses
        # Type bytes (+ ( = ~ > |) mean hiredis could accept an element Redis refuses; they are
        # mostly inside payloads ("+inf", "(1", "~"), so then hiredis still parses and the run
        # must measure exactly as canonical bulk strings (anything else was not a plain bulk).
        # A count of 1000+ could make hiredis allocate for it first: that goes to Python.
        verify = False
        if end - start <= _SMALL:
            # Usually one request: its own '*' (count < 1000) is the only special byte.
            if (
                _SPECIAL(buf, start + 1, end) is not None
                or buf.find(b"\r", start + 2, start + 5) < 0
            ) and _UNSAFE(buf, start, end) is not None:
                if _BIG_COUNT(buf, start, end) is not None or buf.find(
                        b"\r", start + 2, start + 5) < 0:
                    return False
                verify = True
        else:
            find = buf.find
            if find(b"*", start + 1, end) >= 0:  # several requests, or a '*' in a payload
                if _BIG_COUNT(buf, start, end) is not None:
                    return False
            elif find(b"\r", start + 2, start + 5) < 0:  # the one header's count is >= 1000
                return False
            verify = (
                find(b"+", start, end) >= 0
                or find(b"(", start, end) >= 0
                or find(b"=", start, end) >= 0
                or find(b"~", start, end) >= 0
                or find(b">", start, end) >= 0
                or find(b"|", start, end) >= 0
            )
        if verify and _BIG_AGGREGATE(buf, start, end) is not None:
            return False  # a set/push/attribute/map announcing 1000+ elements: Python decides
        reader = self._reader
        reader.feed(buf, start, end - start)
        reader.feed(_SENTINEL)
        mark = len(out)
        gets = reader.gets
        size = 0
        try:
            while True:
                req = gets()
                if req.__class__ is list:
                    if verify:
                        size += _canonical_size(req)
                    if req:  # '*0' is ignored, as Redis does
                        for a in req:
                            if a.__class__ is not bytes:
                                raise ValueError
                        out.append(req)
                    continue
                if req == b"S" and not reader.has_data():
                    if verify and size != end - start:
                        raise ValueError  # an element that was not a canonical bulk string
                    return True
                raise ValueError  # '*-1', a partial request, anything not a request
        except (ValueError, TypeError, hiredis.ProtocolError, MemoryError):
            del out[mark:]
            self._reader = hiredis.Reader()
            return False

    # -- reference path ------------------------------------------------------------------------

    def _resume(self, data: bytes) -> list:
        """Continue the Python parser's pending state with ``data``."""
        if self._bl >= 0 and self._chunks:
            # Inside a large bulk: collect until its payload and CRLF are all here.
            need = self._bl + 2 - self._have
            if len(data) < need:
                self._chunks.append(data)
                self._have += len(data)
                return []
            if need > 2:
                self._chunks.append(data[: need - 2])
                arg = b"".join(self._chunks)
            else:  # the payload was complete; only (part of) its CRLF was missing
                arg = b"".join(self._chunks)[: self._bl]
            self._args.append(arg)
            self._chunks = []
            self._have = 0
            self._bl = -1
            self._mb -= 1
            out = []
            if self._mb == 0:
                out.append(self._args)
                self._args = []
            if need < len(data):
                out.extend(self._python(data, need, True))
            return out
        buf = self._q + data if self._q else data
        self._q = b""
        return self._python(buf, 0, True)

    def _python(self, buf: bytes, pos: int, allow_fast: bool) -> list:
        """Redis's processInputBuffer over ``buf[pos:]``; keeps what is incomplete."""
        out: list = []
        n = len(buf)
        auth = self.authenticated
        try:
            while pos < n:
                if self._mb == 0:
                    if buf[pos] != 42:  # inline request
                        nl = _find(buf, b"\n", pos)
                        if nl < 0:
                            if n - pos > INLINE_MAX:
                                raise ParseError("too big inline request")
                            break
                        line = buf[pos : nl - 1 if nl > pos and buf[nl - 1] == 13 else nl]
                        pos = nl + 1
                        args = split_inline(line)
                        if args:
                            out.append(args)
                        continue
                    if allow_fast and auth:
                        out.extend(self._fast(buf, pos))
                        return out
                    nl = _find(buf, b"\r", pos)
                    if nl < 0:
                        if n - pos > INLINE_MAX:
                            raise ParseError("too big mbulk count string")
                        break
                    if nl + 1 >= n:
                        break
                    count = _string2ll(buf[pos + 1 : nl])
                    if count is None or count > INT_MAX:
                        raise ParseError("invalid multibulk length")
                    if count > UNAUTH_MAX_ARGS and not auth:
                        raise ParseError("unauthenticated multibulk length")
                    pos = nl + 2
                    if count <= 0:
                        continue
                    self._mb = count
                    self._args = []
                    self._bl = -1
                if self._bl < 0:
                    if pos >= n:
                        break
                    nl = _find(buf, b"\r", pos)
                    if nl < 0:
                        if n - pos > INLINE_MAX:
                            raise ParseError("too big bulk count string")
                        break
                    if nl + 1 >= n:
                        break
                    if buf[pos] != 36:  # '$'
                        got = bytes((buf[pos],)).decode("utf-8", "surrogateescape")
                        raise ParseError(f"expected '$', got '{got}'")
                    ln = _string2ll(buf[pos + 1 : nl])
                    if ln is None or ln < 0 or ln > self.max_bulk:
                        raise ParseError("invalid bulk length")
                    if ln > UNAUTH_MAX_BULK and not auth:
                        raise ParseError("unauthenticated bulk length")
                    pos = nl + 2
                    self._bl = ln
                ln = self._bl
                if n - pos < ln + 2:
                    if n > pos:
                        # Collect the payload in chunks from here on (linear for big bulks).
                        self._chunks = [buf[pos:]]
                        self._have = n - pos
                    pos = n
                    break
                self._args.append(buf[pos : pos + ln])
                pos += ln + 2
                self._bl = -1
                self._mb -= 1
                if self._mb == 0:
                    out.append(self._args)
                    self._args = []
        except ParseError as e:
            self.error = "ERR Protocol error: " + str(e)
            self._q = b""
            self._mb = 0
            self._chunks = []
            return out
        self._q = buf[pos:] if pos < n else b""
        return out
