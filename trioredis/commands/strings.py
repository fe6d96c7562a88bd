"""String commands: GET/SET and their variants, MGET/MSET, ranges, counters, LCS.

Values are ``bytes``. APPEND and SETRANGE turn a value into a ``bytearray`` (Redis's ``raw``
encoding) and change it in place, so repeated appends are amortised O(1); every reader accepts
both and replies ``bytes``.

GET and SET are the hottest commands of the server: their common paths are a few lines.
Commands whose effect depends on the clock are propagated with absolute times
(``SET k v PXAT ms``, ``PEXPIREAT``), INCRBYFLOAT as ``SET k <result> KEEPTTL``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from ..errors import (
    INCR_NAN_INF,
    INVALID_EXPIRE,
    NOT_FLOAT,
    NOT_INTEGER,
    NOT_POSITIVE_OFFSET,
    OVERFLOW,
    STRING_TOO_LONG,
    SYNTAX,
    WRONGTYPE,
    CommandError,
    wrong_arity,
)
from ..keyspace import NOTIFY_GENERIC, NOTIFY_STRING
from ..protocol.replies import OK
from .args import LLONG_MAX, LLONG_MIN, parse_int, to_int
from .keys import delete_now, expire_key_at, lookup_read, notify
from .registry import command

_STR = (bytes, bytearray)


def _wrongtype():
    raise CommandError(WRONGTYPE)


def check_string_length(c, size: int, append: int) -> None:
    """Redis's checkStringLength: the result may not exceed proto-max-bulk-len."""
    if not c.is_master and size + append > c.server.config["proto-max-bulk-len"]:
        raise CommandError(STRING_TOO_LONG)


# -- GET, SET and variants ---------------------------------------------------------------------


@command("get", 2, "readonly fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Get the value of a key")
def get(c, argv):
    """Get the value of a key."""
    db = c.db
    key = argv[1]
    v = db.data.get(key)
    if v is not None and db.expires and key in db.expires:
        v = db.peek(key)
    if v is None:
        return lookup_read(db, key)  # counts the miss (and fires keymiss)
    srv = db.server
    srv.stat_keyspace_hits += 1
    if srv.lfu_mode:  # the access (lookup_read's, inlined)
        db.touch_lfu(key)
    else:
        db.access[key] = srv.lru_clock
    cls = v.__class__
    if cls is bytes:
        return v
    if cls is bytearray:
        return bytes(v)
    raise CommandError(WRONGTYPE)


def _get_string(db, key: bytes):
    """A read lookup of a string (bytes or bytearray) or None; WRONGTYPE otherwise."""
    v = lookup_read(db, key)
    if v is not None and v.__class__ is not bytes and v.__class__ is not bytearray:
        raise CommandError(WRONGTYPE)
    return v


def _write_string(db, key: bytes):
    """A write lookup of a string or None; WRONGTYPE otherwise."""
    v = db.lookup(key)
    if v is not None and v.__class__ is not bytes and v.__class__ is not bytearray:
        raise CommandError(WRONGTYPE)
    return v


# Option flags of SET and GETEX (Redis's OBJ_* flags).
_NX, _XX, _GET, _KEEPTTL, _PERSIST = 1, 2, 4, 8, 16
_EX, _PX, _EXAT, _PXAT = 32, 64, 128, 256
_ANY_EXPIRE = _EX | _PX | _EXAT | _PXAT
_EXPIRE_OPTS = {b"EX": _EX, b"PX": _PX, b"EXAT": _EXAT, b"PXAT": _PXAT}
_SECONDS = _EX | _EXAT
_RELATIVE = _EX | _PX


def _parse_ext(argv: list, j: int, is_set: bool):
    """Redis's parseExtendedStringArgumentsOrReply: (flags, expire argument or None)."""
    flags = 0
    expire = None
    n = len(argv)
    while j < n:
        opt = argv[j].upper()
        f = _EXPIRE_OPTS.get(opt)
        if f is not None:
            if j + 1 >= n or flags & (_KEEPTTL | _PERSIST | (_ANY_EXPIRE & ~f)):
                raise CommandError(SYNTAX)
            flags |= f
            expire = argv[j + 1]
            j += 2
            continue
        if is_set:
            if opt == b"NX" and not flags & _XX:
                flags |= _NX
            elif opt == b"XX" and not flags & _NX:
                flags |= _XX
            elif opt == b"GET":
                flags |= _GET
            elif opt == b"KEEPTTL" and not flags & _ANY_EXPIRE:
                flags |= _KEEPTTL
            else:
                raise CommandError(SYNTAX)
        elif opt == b"PERSIST" and not flags & _ANY_EXPIRE:
            flags |= _PERSIST
        else:
            raise CommandError(SYNTAX)
        j += 1
    return flags, expire


def _expire_ms(c, flags: int, arg: bytes, name: str) -> int:
    """Redis's getExpireMillisecondsOrReply: the absolute deadline in ms."""
    ms = parse_int(arg)
    if ms <= 0 or (flags & _SECONDS and ms > LLONG_MAX // 1000):
        raise CommandError(INVALID_EXPIRE.format(name))
    if flags & _SECONDS:
        ms *= 1000
    if flags & _RELATIVE:
        ms += c.server.now_ms()
        if ms > LLONG_MAX:
            raise CommandError(INVALID_EXPIRE.format(name))
    return ms


@command("set", -3, "write denyoom", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the string value of a key")
def set_(c, argv):
    """Set the string value of a key (NX|XX, GET, EX|PX|EXAT|PXAT|KEEPTTL)."""
    if len(argv) == 3:
        db = c.db
        db.store(argv[1], argv[2])
        db.modified(argv[1], b"set", NOTIFY_STRING)
        return OK
    return _set_extended(c, argv)


def _set_extended(c, argv):
    flags, expire = _parse_ext(argv, 3, True)
    when = _expire_ms(c, flags, expire, "set") if expire is not None else None
    db = c.db
    key, value = argv[1], argv[2]
    if flags & _GET:
        old = _get_string(db, key)
        if old is not None:
            old = bytes(old)
        found = old is not None
    else:
        old = None
        # Only NX/XX/KEEPTTL need to know (an expired key must not lend its TTL to KEEPTTL).
        found = flags & (_NX | _XX | _KEEPTTL) and db.lookup(key) is not None
    if (flags & _NX and found) or (flags & _XX and not found):
        return old if flags & _GET else None
    db.store(key, value, keepttl=bool(flags & _KEEPTTL))
    db.modified(key, b"set", NOTIFY_STRING)
    if when is not None:
        db.set_expire(key, when)
        if c.server.notify_flags & NOTIFY_GENERIC:
            notify(db, key, b"expire", NOTIFY_GENERIC)
        c.propagate_as = [[b"SET", key, value, b"PXAT", b"%d" % when]]
    elif flags & _GET:
        c.propagate_as = [argv[:3] + [a for a in argv[3:] if a.upper() != b"GET"]]
    return old if flags & _GET else OK


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the value of a key, only if the key does not exist")
def setnx(c, argv):
    """Set a key only if it does not exist: 1 if set."""
    db = c.db
    key = argv[1]
    if db.lookup(key) is not None:
        return 0
    db.store(key, argv[2])
    db.modified(key, b"set", NOTIFY_STRING)
    return 1


def _setex(c, argv, unit: int, name: str):
    when = _expire_ms(c, unit, argv[2], name)
    db = c.db
    key, value = argv[1], argv[3]
    db.lookup(key)  # an expired old value goes first, as Redis's setKey does
    db.store(key, value)
    db.modified(key, b"set", NOTIFY_STRING)
    db.set_expire(key, when)
    notify(db, key, b"expire", NOTIFY_GENERIC)
    c.propagate_as = [[b"SET", key, value, b"PXAT", b"%d" % when]]
    return OK


@command("setex", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.0.0",
         summary="Set the value and expiration of a key")
def setex(c, argv):
    """SET key value with a TTL in seconds."""
    return _setex(c, argv, _EX, "setex")


@command("psetex", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.6.0",
         summary="Set the value and expiration in milliseconds of a key")
def psetex(c, argv):
    """SET key value with a TTL in milliseconds."""
    return _setex(c, argv, _PX, "psetex")


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the string value of a key and return its old value")
def getset(c, argv):
    """Set a key and return its old value (drops the TTL)."""
    db = c.db
    key = argv[1]
    old = _get_string(db, key)
    db.store(key, argv[2])
    db.modified(key, b"set", NOTIFY_STRING)
    c.propagate_as = [[b"SET", key, argv[2]]]
    return None if old is None else bytes(old)


@command("getdel", 2, "write fast", keys=(1, 1, 1), group="string", since="6.2.0",
         summary="Get the value of a key and delete the key")
def getdel(c, argv):
    """Get a string and delete its key."""
    db = c.db
    key = argv[1]
    v = _get_string(db, key)
    if v is None:
        return None
    delete_now(c, db, key, "lazyfree-lazy-user-del")
    return bytes(v)


@command("getex", -2, "write fast", keys=(1, 1, 1), group="string", since="6.2.0",
         summary="Get the value of a key and optionally set its expiration")
def getex(c, argv):
    """Get a string and change its TTL (EX|PX|EXAT|PXAT|PERSIST)."""
    flags, expire = _parse_ext(argv, 2, False)
    db = c.db
    key = argv[1]
    v = _get_string(db, key)
    if v is None:
        return None
    v = bytes(v)
    if expire is not None:
        expire_key_at(c, db, key, _expire_ms(c, flags, expire, "getex"))
    elif flags & _PERSIST and db.persist(key):
        db.modified(key, b"persist", NOTIFY_GENERIC)
        c.propagate_as = [[b"PERSIST", key]]
    return v


@command("mget", -2, "readonly fast", keys=(1, -1, 1), group="string", since="1.0.0",
         summary="Get the values of all the given keys")
def mget(c, argv):
    """Values of several keys (nil for missing keys and non-strings)."""
    db = c.db
    out = []
    for key in argv[1:]:
        v = lookup_read(db, key)
        cls = v.__class__
        out.append(v if cls is bytes else bytes(v) if cls is bytearray else None)
    return out


def _check_pairs(argv, name: str) -> None:
    if len(argv) % 2 == 0:
        raise CommandError(wrong_arity(name))


@command("mset", -3, "write denyoom", keys=(1, -1, 2), group="string", since="1.0.1",
         summary="Set multiple keys to multiple values")
def mset(c, argv):
    """Set several keys at once."""
    _check_pairs(argv, "mset")
    db = c.db
    for i in range(1, len(argv), 2):
        db.store(argv[i], argv[i + 1])
        db.modified(argv[i], b"set", NOTIFY_STRING)
    return OK


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2), group="string", since="1.0.1",
         summary="Set multiple keys to multiple values, only if none of the keys exist")
def msetnx(c, argv):
    """Set several keys only if none exists: 1 if set."""
    _check_pairs(argv, "msetnx")
    db = c.db
    for i in range(1, len(argv), 2):
        if db.lookup(argv[i]) is not None:
            return 0
    for i in range(1, len(argv), 2):
        db.store(argv[i], argv[i + 1])
        db.modified(argv[i], b"set", NOTIFY_STRING)
    return 1


# -- APPEND, STRLEN, GETRANGE, SETRANGE --------------------------------------------------------


@command("append", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="2.0.0",
         summary="Append a value to a key")
def append(c, argv):
    """Append to a string (in place, amortised O(1)); returns the new length."""
    db = c.db
    key, extra = argv[1], argv[2]
    v = _write_string(db, key)
    if v is None:
        db.store(key, extra)
        n = len(extra)
    else:
        check_string_length(c, len(v), len(extra))
        if v.__class__ is bytes:
            v = bytearray(v)
            db.store(key, v, keepttl=True)
        v += extra
        n = len(v)
    db.modified(key, b"append", NOTIFY_STRING)
    return n


@command("strlen", 2, "readonly fast", keys=(1, 1, 1), group="string", since="2.2.0",
         summary="Get the length of the value stored in a key")
def strlen(c, argv):
    """Length of a string value (0 when missing)."""
    v = _get_string(c.db, argv[1])
    return 0 if v is None else len(v)


def _getrange(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    v = _get_string(c.db, argv[1])
    if v is None:
        return b""
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return b""
    return bytes(v[start : end + 1])


@command("getrange", 4, "readonly", keys=(1, 1, 1), group="string", since="2.4.0",
         summary="Get a substring of the string stored at a key")
def getrange(c, argv):
    """Substring by inclusive byte offsets (negative from the end)."""
    return _getrange(c, argv)


@command("substr", 4, "readonly", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Get a substring of the string stored at a key")
def substr(c, argv):
    """The old name of GETRANGE."""
    return _getrange(c, argv)


@command("setrange", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.2.0",
         summary="Overwrite part of a string at key starting at the specified offset")
def setrange(c, argv):
    """Overwrite part of a string, zero-padding as needed; returns the new length."""
    offset = parse_int(argv[2])
    if offset < 0:
        raise CommandError(NOT_POSITIVE_OFFSET)
    db = c.db
    key, value = argv[1], argv[3]
    v = _write_string(db, key)
    if v is None:
        if not value:
            return 0
        check_string_length(c, offset, len(value))
        v = bytearray(offset)
        db.store(key, v)
    else:
        if not value:
            return len(v)
        check_string_length(c, offset, len(value))
        if v.__class__ is bytes:
            v = bytearray(v)
            db.store(key, v, keepttl=True)
    end = offset + len(value)
    if end > len(v):
        v.extend(bytes(end - len(v)))
    v[offset:end] = value
    db.modified(key, b"setrange", NOTIFY_STRING)
    return len(v)


# -- counters ----------------------------------------------------------------------------------


def _incr(c, key: bytes, delta: int) -> int:
    db = c.db
    v = db.data.get(key)
    if v is not None and db.expires and key in db.expires:
        v = db.lookup(key)
    if v is None:
        new = delta
        db.store(key, b"%d" % new, keepttl=True)
    else:
        if v.__class__ is not bytes and v.__class__ is not bytearray:
            raise CommandError(WRONGTYPE)
        old = to_int(v)
        if old is None:
            raise CommandError(NOT_INTEGER)
        new = old + delta
        if new > LLONG_MAX or new < LLONG_MIN:
            raise CommandError(OVERFLOW)
        db.store(key, b"%d" % new, keepttl=True)  # exists: TTL and place in SCAN stay
    db.modified(key, b"incrby", NOTIFY_STRING)
    return new


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increment the integer value of a key by one")
def incr(c, argv):
    """Add 1 to an integer string (0 when missing)."""
    return _incr(c, argv[1], 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrement the integer value of a key by one")
def decr(c, argv):
    """Subtract 1 from an integer string."""
    return _incr(c, argv[1], -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increment the integer value of a key by the given amount")
def incrby(c, argv):
    """Add an integer to an integer string."""
    return _incr(c, argv[1], parse_int(argv[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrement the integer value of a key by the given number")
def decrby(c, argv):
    """Subtract an integer from an integer string."""
    n = parse_int(argv[2])
    if n == LLONG_MIN:
        raise CommandError("ERR decrement would overflow")
    return _incr(c, argv[1], -n)


# -- long double arithmetic for INCRBYFLOAT (x86-64 80-bit extended precision) -----------------
#
# Redis computes INCRBYFLOAT in C ``long double`` and prints it with "%.17Lf", trailing zeros
# stripped. We emulate that exactly with rationals: values are Fractions holding the exact
# value of a 64-bit-mantissa binary float, every operation is rounded to nearest-even.

_LD_MIN_EXP = -16445  # exponent of the smallest subnormal: 2**-16445
_LD_MAX_EXP = 16320  # largest m*2**e with m < 2**64 below 2**16384
_LD_MAX_CHARS = 5 * 1024  # Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are refused
_DEC_RE = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_RE = re.compile(
    rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?"
)
_INF_RE = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
_INF = float("inf")


def ld_round(x: Fraction):
    """Round an exact rational to the nearest long double: a Fraction, or ±inf on overflow."""
    num, den = x.numerator, x.denominator
    if num == 0:
        return Fraction(0)
    neg = num < 0
    if neg:
        num = -num
    k = num.bit_length() - den.bit_length()
    if k >= 0:
        fl = k if num >= den << k else k - 1
    else:
        fl = k if num << -k >= den else k - 1
    e = max(fl - 63, _LD_MIN_EXP)
    if e >= 0:
        d = den << e
        q, r = divmod(num, d)
    else:
        d = den
        q, r = divmod(num << -e, den)
    if 2 * r > d or (2 * r == d and q & 1):
        q += 1
    if q >> 64:
        q >>= 1
        e += 1
    if e > _LD_MAX_EXP:
        return -_INF if neg else _INF
    if neg:
        q = -q
    return Fraction(q << e) if e >= 0 else Fraction(q, 1 << -e)


def parse_long_double(b: bytes):
    """Redis's string2ld (strtold plus its checks): Fraction, ±inf, or None when refused."""
    if not b or len(b) >= _LD_MAX_CHARS:
        return None
    b = bytes(b)
    if _DEC_RE.fullmatch(b):
        d = Decimal(b.decode())
        if not d:
            return Fraction(0)
        adj = d.adjusted()
        if adj > 4940:
            return None  # overflow: ERANGE with HUGE_VAL
        if adj < -4960:
            return None  # underflow to zero: ERANGE
        x = ld_round(Fraction(*d.as_integer_ratio()))
    elif m := _HEX_RE.fullmatch(b):
        sign, whole, frac, exp = m.groups()
        frac = frac or b""
        if not whole and not frac:
            return None
        mant = int(whole + frac, 16)
        if not mant:
            return Fraction(0)
        e2 = int(exp or b"0") - 4 * len(frac)
        top = mant.bit_length() + e2
        if top > 16390 or top < -16450:
            return None  # overflow, or underflow to zero
        x = Fraction(mant << e2) if e2 >= 0 else Fraction(mant, 1 << -e2)
        x = ld_round(-x if sign == b"-" else x)
    elif m := _INF_RE.fullmatch(b):
        return -_INF if m.group(1) == b"-" else _INF
    else:
        return None
    if x == 0 or isinstance(x, float):
        return None  # strtold's ERANGE: overflow, or underflow to zero
    return x


def format_long_double(x: Fraction) -> bytes:
    """Redis's ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros (and ".") removed."""
    neg = x < 0
    if neg:
        x = -x
    q, r = divmod(x.numerator * 10**17, x.denominator)
    if 2 * r > x.denominator or (2 * r == x.denominator and q & 1):
        q += 1
    digits = str(Decimal(q)).zfill(18)  # Decimal: no int-to-str digit limit
    whole, frac = digits[:-17], digits[-17:].rstrip("0")
    s = whole + "." + frac if frac else whole
    if neg and s != "0":
        s = "-" + s
    return s.encode()


def incr_long_double(current, increment: bytes) -> bytes:
    """INCRBYFLOAT/HINCRBYFLOAT arithmetic: the new value's text, Redis's errors otherwise."""
    value = Fraction(0) if current is None else parse_long_double(current)
    inc = parse_long_double(increment)
    if value is None or inc is None:
        raise CommandError(NOT_FLOAT)
    if isinstance(value, float) or isinstance(inc, float):
        raise CommandError(INCR_NAN_INF)  # inf + anything is inf or nan
    total = ld_round(value + inc)
    if isinstance(total, float):
        raise CommandError(INCR_NAN_INF)
    return format_long_double(total)


@command("incrbyfloat", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="2.6.0",
         summary="Increment the float value of a key by the given amount")
def incrbyfloat(c, argv):
    """Add a float to a number string, with Redis's long double results."""
    db = c.db
    key = argv[1]
    new = incr_long_double(_write_string(db, key), argv[2])
    db.store(key, new, keepttl=True)
    db.modified(key, b"incrbyfloat", NOTIFY_STRING)
    c.propagate_as = [[b"SET", key, new, b"KEEPTTL"]]
    return new


# -- LCS ---------------------------------------------------------------------------------------


def _lcs_rows(a: bytes, b: bytes) -> list:
    """Bit-parallel LCS (Hyyrö): row i encodes LCS(a[:i], b[:j]) = j - popcount(row & mask_j).

    Each row is one int of len(b) bits, so the table costs n*m bits and O(n*m/64) word work.
    """
    m = len(b)
    full = (1 << m) - 1
    masks = {}
    rb = bytes(reversed(b))
    for ch in set(b):
        table = bytearray(b"0" * 256)
        table[ch] = 49  # "1"
        masks[ch] = int(rb.translate(table), 2)
    v = full
    rows = [v]
    for ch in a:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v)
    return rows


@command("lcs", -3, "readonly", keys=(1, 2, 1), group="string", since="7.0.0",
         summary="Find longest common substring")
def lcs(c, argv):
    """Longest common subsequence of two strings (LEN, IDX, MINMATCHLEN, WITHMATCHLEN)."""
    db = c.db
    va = lookup_read(db, argv[1])
    vb = lookup_read(db, argv[2])
    if (va is not None and va.__class__ not in _STR) or (vb is not None and vb.__class__ not in _STR):
        raise CommandError("ERR The specified keys must contain string values")
    a = b"" if va is None else bytes(va)
    b = b"" if vb is None else bytes(vb)
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j, n = 3, len(argv)
    while j < n:
        opt = argv[j].upper()
        if opt == b"IDX":
            getidx = True
        elif opt == b"LEN":
            getlen = True
        elif opt == b"WITHMATCHLEN":
            withmatchlen = True
        elif opt == b"MINMATCHLEN" and j + 1 < n:
            minmatchlen = max(parse_int(argv[j + 1]), 0)
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1
    if getidx and getlen:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    alen, blen = len(a), len(b)
    if alen >= 2**32 - 2 or blen >= 2**32 - 2:
        raise CommandError("ERR String too long for LCS")
    if (alen + 1) * (blen + 1) * 4 > c.server.config["proto-max-bulk-len"]:
        raise CommandError(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        )
    rows = _lcs_rows(a, b)
    total = blen - rows[alen].bit_count()
    if getlen:
        return total

    def table(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    # Walk back from (alen, blen) exactly as Redis does, so ties pick the same matches.
    result = bytearray(total)
    idx = total
    matches = []
    astart = alen  # alen: no range open
    aend = bstart = bend = 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if astart == alen:
                astart = aend = i - 1
                bstart = bend = j - 1
            elif astart == i and bstart == j:
                astart -= 1
                bstart -= 1
            else:
                emit = True
            if astart == 0 or bstart == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if table(i - 1, j) > table(i, j - 1):
                i -= 1
            else:
                j -= 1
            if astart != alen:
                emit = True
        if emit:
            mlen = aend - astart + 1
            if getidx and (minmatchlen == 0 or mlen >= minmatchlen):
                m = [[astart, aend], [bstart, bend]]
                if withmatchlen:
                    m.append(mlen)
                matches.append(m)
            astart = alen
    if getidx:
        return {b"matches": matches, b"len": total}
    return bytes(result)
