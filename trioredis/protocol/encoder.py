"""Encode reply values as RESP2 or RESP3 bytes.

One function per protocol, dispatching on the exact type; the hot cases (bulk, OK, integer,
null) are tested first.
"""

from __future__ import annotations

from .replies import NULL_ARRAY, ErrorReply, Push, Raw, SetReply, Verbatim, _NullArray

_SMALL_INTS = [b":%d\r\n" % i for i in range(-1, 1025)]
_OK = b"+OK\r\n"
_NULL2 = b"$-1\r\n"
_NULL3 = b"_\r\n"
_SIMPLE = {"OK": _OK, "PONG": b"+PONG\r\n", "QUEUED": b"+QUEUED\r\n"}  # the common statuses
_BULK_HEADERS = [b"$%d\r\n" % i for i in range(1024)]


def _bulk_array(r) -> bytes | None:
    """The commonest array, bulk strings only, in one join (no call per element); None if an
    element is anything but exactly ``bytes`` (Raw and Verbatim subclass it)."""
    out = [b"*%d\r\n" % len(r)]
    for x in r:
        if x.__class__ is not bytes:
            return None
        n = len(x)
        out += (_BULK_HEADERS[n] if n < 1024 else b"$%d\r\n" % n, x, b"\r\n")
    return b"".join(out)


def format_double(value: float) -> bytes:
    """Redis's ``%.17g`` double text, with ``inf``/``-inf`` spelt its way."""
    if value != value:
        return b"nan"
    if value == float("inf"):
        return b"inf"
    if value == float("-inf"):
        return b"-inf"
    return b"%.17g" % value


def error_line(message: str) -> bytes:
    """``-message\\r\\n``. Newlines would break the protocol; Redis turns them into spaces too.

    Raw bytes that are not UTF-8 may ride in ``message`` as surrogate escapes
    (``b.decode("utf-8", "surrogateescape")``) and go out as the very bytes Redis would send.
    """
    if "\r" in message or "\n" in message:
        message = message.replace("\r", " ").replace("\n", " ")
    try:
        data = message.encode()
    except UnicodeEncodeError:
        try:
            data = message.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = message.encode("utf-8", "replace")
    return b"-" + data + b"\r\n"


def encode2(r) -> bytes:
    """Encode ``r`` as RESP2."""
    t = r.__class__
    if t is bytes:
        return b"$%d\r\n%s\r\n" % (len(r), r)
    if t is str:
        return _SIMPLE.get(r) or b"+" + r.encode() + b"\r\n"
    if t is int:
        if -1 <= r <= 1023:
            return _SMALL_INTS[r + 1]
        return b":%d\r\n" % r
    if r is None:
        return _NULL2
    if t is list or t is tuple or t is Push:
        return _bulk_array(r) or b"*%d\r\n" % len(r) + b"".join([encode2(x) for x in r])
    if t is Raw:
        return r
    if t is bytearray or t is memoryview or t is Verbatim:
        r = bytes(r)
        return b"$%d\r\n%s\r\n" % (len(r), r)
    if t is ErrorReply:
        return error_line(r.message)
    if t is float:
        s = format_double(r)
        return b"$%d\r\n%s\r\n" % (len(s), s)
    if t is bool:
        return b":1\r\n" if r else b":0\r\n"
    if t is dict:
        out = [b"*%d\r\n" % (2 * len(r))]
        for k, v in r.items():
            out.append(encode2(k))
            out.append(encode2(v))
        return b"".join(out)
    if t is set or t is frozenset or t is SetReply:
        return b"*%d\r\n" % len(r) + b"".join([encode2(x) for x in r])
    if t is _NullArray:
        return b"*-1\r\n"
    raise TypeError(f"cannot encode {t.__name__} as RESP")


def encode3(r) -> bytes:
    """Encode ``r`` as RESP3."""
    t = r.__class__
    if t is bytes:
        return b"$%d\r\n%s\r\n" % (len(r), r)
    if t is str:
        return _SIMPLE.get(r) or b"+" + r.encode() + b"\r\n"
    if t is int:
        if -1 <= r <= 1023:
            return _SMALL_INTS[r + 1]
        return b":%d\r\n" % r
    if r is None or r is NULL_ARRAY:
        return _NULL3
    if t is list or t is tuple:
        return _bulk_array(r) or b"*%d\r\n" % len(r) + b"".join([encode3(x) for x in r])
    if t is Raw:
        return r
    if t is bytearray or t is memoryview:
        r = bytes(r)
        return b"$%d\r\n%s\r\n" % (len(r), r)
    if t is ErrorReply:
        return error_line(r.message)
    if t is float:
        return b"," + format_double(r) + b"\r\n"
    if t is bool:
        return b"#t\r\n" if r else b"#f\r\n"
    if t is dict:
        out = [b"%%%d\r\n" % len(r)]
        for k, v in r.items():
            out.append(encode3(k))
            out.append(encode3(v))
        return b"".join(out)
    if t is set or t is frozenset or t is SetReply:
        return b"~%d\r\n" % len(r) + b"".join([encode3(x) for x in r])
    if t is Push:
        return b">%d\r\n" % len(r) + b"".join([encode3(x) for x in r])
    if t is Verbatim:
        body = b"txt:" + r
        return b"=%d\r\n%s\r\n" % (len(body), body)
    raise TypeError(f"cannot encode {t.__name__} as RESP")


ENCODERS = {2: encode2, 3: encode3}


def encode_command(argv: list) -> bytes:
    """A command as RESP: an array of bulk strings (the common short shapes unrolled: this
    runs for every propagated write)."""
    try:
        n = len(argv)
        if n == 3:
            a, b, c = argv
            return b"*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                len(a), a, len(b), b, len(c), c)
        if n == 2:
            a, b = argv
            return b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(a), a, len(b), b)
        return b"*%d\r\n" % n + b"".join([b"$%d\r\n%s\r\n" % (len(a), a) for a in argv])
    except TypeError:  # an int or str argument: log its text
        return encode_command([a if isinstance(a, (bytes, bytearray, memoryview))
                               else str(a).encode() for a in argv])
