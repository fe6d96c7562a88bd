"""Reply values that handlers return, beyond the plain Python types.

Plain types map as Redis's do: ``bytes`` a bulk string, ``str`` a simple status (``+OK``),
``int`` an integer, ``None`` a null bulk, ``list`` an array, ``float`` a double, ``bool`` a
RESP3 boolean, ``dict`` a map, ``set`` a set. The classes here cover the rest.
"""


class ErrorReply:
    """An error reply placed inside another reply (EXEC's array) or returned directly."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message

    def __repr__(self) -> str:
        return f"ErrorReply({self.message!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, ErrorReply) and other.message == self.message

    __hash__ = None


class Push(list):
    """Out-of-band data (pub/sub messages): ``>`` in RESP3, a plain array in RESP2."""

    __slots__ = ()


class SetReply(list):
    """An ordered array sent as a RESP3 set (``~``); a plain array in RESP2 (SMEMBERS, SINTER).

    A Python ``set`` loses the order Redis replies in (an intset's members come sorted).
    """

    __slots__ = ()


class Verbatim(bytes):
    """RESP3 verbatim string (``=``, format ``txt``); a bulk string in RESP2 (INFO, CLIENT LIST)."""

    __slots__ = ()


class Raw(bytes):
    """Bytes already encoded as RESP, sent as they are."""

    __slots__ = ()


class _NullArray:
    """``*-1`` in RESP2 (BLPOP timeout, EXEC aborted by WATCH), ``_`` in RESP3."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()
OK = "OK"
QUEUED = "QUEUED"
