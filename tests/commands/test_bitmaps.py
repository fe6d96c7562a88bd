"""Bitmap commands: differential tests against a real Redis 7.0 (raw replies compared, random
ranges and fields included), and in-process checks of events, propagation and encodings."""

from __future__ import annotations

import random

import redis

from .test_strings import diff_fixture, local_fixture  # noqa: F401  (fixtures)


def test_setbit_getbit(diff):
    diff(
        ("SETBIT", "b", "7", "1"), ("GET", "b"), ("SETBIT", "b", "7", "0"), ("SETBIT", "b", "7", "1"),
        ("GETBIT", "b", "7"), ("GETBIT", "b", "6"), ("GETBIT", "b", "100"), ("GETBIT", "nokey", "0"),
        ("SETBIT", "b", "100", "1"), ("STRLEN", "b"), ("GETBIT", "b", "100"),
        ("SETBIT", "b", "-1", "1"), ("SETBIT", "b", "x", "1"), ("SETBIT", "b", "1", "2"),
        ("SETBIT", "b", "1", "-1"), ("SETBIT", "b", "1", "x"), ("GETBIT", "b", "-1"),
        ("SETBIT", "b", "4294967296", "0"),
        ("GETBIT", "b", "4294967296"), ("GETBIT", "b", "4294967295"), ("OBJECT", "ENCODING", "b"),
        ("SET", "s", "12"), ("SETBIT", "s", "0", "1"), ("GET", "s"), ("OBJECT", "ENCODING", "s"),
        ("RPUSH", "l", "x"), ("SETBIT", "l", "0", "1"), ("GETBIT", "l", "0"), ("GETBIT", "l", "x"),
        ("SET", "t", "a", "EX", "100"), ("SETBIT", "t", "0", "1"), ("TTL", "t"),
    )


def test_bitcount_bitpos_fixed(diff):
    diff(
        ("SET", "k", "\xff\xf0\x00"), ("BITCOUNT", "k"), ("BITCOUNT", "k", "0", "0"),
        ("BITCOUNT", "k", "1", "-1"), ("BITCOUNT", "k", "5", "3", "BIT"), ("BITCOUNT", "k", "-1", "-2"),
        ("BITCOUNT", "k", "0"), ("BITCOUNT", "k", "0", "1", "FOO"), ("BITCOUNT", "k", "-1", "-2", "FOO"),
        ("BITCOUNT", "k", "a", "1"), ("BITCOUNT", "k", "0", "1", "bit", "x"),
        ("BITCOUNT", "nokey"), ("BITCOUNT", "nokey", "0"), ("BITCOUNT", "nokey", "a", "b", "c"),
        ("BITPOS", "k", "0"), ("BITPOS", "k", "1"), ("BITPOS", "k", "1", "2"), ("BITPOS", "k", "0", "2"),
        ("BITPOS", "k", "0", "0", "0"), ("BITPOS", "k", "0", "0", "7", "BIT"),
        ("BITPOS", "k", "0", "0", "12", "BIT"), ("BITPOS", "k", "1", "12", "-1", "BIT"),
        ("BITPOS", "k", "2"), ("BITPOS", "k", "x"), ("BITPOS", "k", "1", "x"), ("BITPOS", "k", "1", "0", "x"),
        ("BITPOS", "k", "1", "0", "1", "FOO"), ("BITPOS", "k", "1", "0", "1", "BIT", "x"),
        ("BITPOS", "nokey", "0"), ("BITPOS", "nokey", "1"), ("BITPOS", "nokey", "2"),
        ("SET", "ones", "\xff\xff"), ("BITPOS", "ones", "0"), ("BITPOS", "ones", "0", "0"),
        ("BITPOS", "ones", "0", "0", "-1"), ("BITPOS", "ones", "0", "3", "BIT"),
        ("SET", "e", ""), ("BITPOS", "e", "0"), ("BITPOS", "e", "1"), ("BITCOUNT", "e"),
        ("BITCOUNT", "e", "0", "-1"), ("BITPOS", "e", "0", "0", "-1", "BIT"),
        ("SET", "i", "1234"), ("BITCOUNT", "i"), ("BITPOS", "i", "1"),
        ("RPUSH", "l", "x"), ("BITCOUNT", "l"), ("BITPOS", "l", "1"),
    )


def test_bitcount_bitpos_random(diff):
    rnd = random.Random(11)
    for _ in range(60):
        n = rnd.randrange(0, 12)
        val = bytes(rnd.choice((0, 255, rnd.randrange(256))) for _ in range(n))
        diff.both("SET", "k", val)
        cmds = []
        for _ in range(12):
            s, e = rnd.randrange(-100, 100), rnd.randrange(-100, 100)
            unit = rnd.choice([(), ("BYTE",), ("BIT",), ("bit",)])
            bit = rnd.choice("01")
            cmds.append(("BITCOUNT", "k", s, e, *unit))
            cmds.append(("BITPOS", "k", bit, s, e, *unit))
            if not unit:
                cmds.append(("BITPOS", "k", bit, s))
            else:
                cmds.append(("BITPOS", "k", bit, s // 8, *(("BIT",) if unit[0].lower() == "bit" else ())))
        cmds += [("BITCOUNT", "k"), ("BITPOS", "k", "0"), ("BITPOS", "k", "1")]
        diff(*cmds)


def test_bitop(diff):
    diff(
        ("SET", "a", "\x0f\xff"), ("SET", "b", "\xf0"), ("BITOP", "AND", "d", "a", "b"), ("GET", "d"),
        ("BITOP", "or", "d", "a", "b", "nokey"), ("GET", "d"), ("BITOP", "XOR", "d", "a", "b"),
        ("GET", "d"), ("BITOP", "NOT", "d", "a"), ("GET", "d"), ("BITOP", "NOT", "d", "a", "b"),
        ("BITOP", "NAND", "d", "a"), ("BITOP", "AND", "d", "nokey"), ("EXISTS", "d"),
        ("BITOP", "AND", "d", "a", "nokey"), ("GET", "d"), ("OBJECT", "ENCODING", "d"),
        ("EXPIRE", "d", "100"), ("BITOP", "OR", "d", "a"), ("TTL", "d"),
        ("RPUSH", "l", "x"), ("BITOP", "AND", "d", "a", "l"), ("BITOP", "AND", "l", "a"), ("TYPE", "l"),
        ("BITOP", "AND", "d"), ("SET", "e", ""), ("BITOP", "NOT", "d", "e"), ("EXISTS", "d"),
    )


def test_bitfield_fixed(diff):
    diff(
        ("BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "i8", "0", "INCRBY", "i8", "0", "100"),
        ("BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100", "INCRBY", "i8", "0", "-1000"),
        ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1000", "GET", "i8", "0"),
        ("BITFIELD", "bf", "SET", "u8", "#1", "255", "GET", "u4", "8", "GET", "u4", "#3", "GET", "i4", "12"),
        ("BITFIELD", "bf", "SET", "u8", "0", "-1", "OVERFLOW", "SAT", "SET", "u8", "0", "-1"),
        ("BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "u8", "0", "256", "SET", "i8", "0", "-129"),
        ("BITFIELD", "bf", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1"),
        ("BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "9223372036854775807"),
        ("BITFIELD", "bf", "SET", "u63", "1", "9223372036854775807", "INCRBY", "u63", "1", "1"),
        ("BITFIELD", "bf", "GET", "u1", "100000"), ("STRLEN", "bf"),
        ("BITFIELD", "bf", "GET", "u64", "0"), ("BITFIELD", "bf", "GET", "i65", "0"),
        ("BITFIELD", "bf", "GET", "I8", "0"), ("BITFIELD", "bf", "GET", "i0", "0"),
        ("BITFIELD", "bf", "GET", "i08", "0"), ("BITFIELD", "bf", "GET", "x8", "0"),
        ("BITFIELD", "bf", "GET", "i8", "-1"), ("BITFIELD", "bf", "GET", "i8", "#-1"),
        ("BITFIELD", "bf", "GET", "i8", "x"), ("BITFIELD", "bf", "GET", "i8", "4294967296"),
        ("BITFIELD", "bf", "GET", "i8", "#536870912"), ("BITFIELD", "bf", "GET", "i8", "##1"),
        ("BITFIELD", "bf", "SET", "i8", "0", "x"), ("BITFIELD", "bf", "SET", "i8", "0"),
        ("BITFIELD", "bf", "GET", "i8"), ("BITFIELD", "bf", "OVERFLOW"), ("BITFIELD", "bf", "OVERFLOW", "X"),
        ("BITFIELD", "bf", "FOO", "i8", "0"), ("BITFIELD", "bf"), ("BITFIELD", "nokey"),
        ("BITFIELD", "nokey", "GET", "u8", "0"), ("EXISTS", "nokey"),
        ("BITFIELD", "n2", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5"), ("STRLEN", "n2"),
        ("BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i16", "#1"),
        ("BITFIELD_RO", "bf", "GET", "u8", "0", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "bf", "INCRBY", "u8", "0", "1", "GET", "x", "0"), ("BITFIELD_RO", "bf"),
        ("RPUSH", "l", "x"), ("BITFIELD", "l", "GET", "u8", "0"), ("BITFIELD", "l"),
        ("BITFIELD", "l", "SET", "u8", "0", "1"), ("BITFIELD_RO", "l", "GET", "u8", "0"),
        ("SET", "s", "hello"), ("BITFIELD", "s", "INCRBY", "u8", "#0", "1"), ("GET", "s"),
    )


def test_bitfield_random(diff):
    rnd = random.Random(5)
    diff.both("SET", "k", bytes(rnd.randrange(256) for _ in range(16)))
    for _ in range(60):
        args = ["BITFIELD", "k"]
        for _ in range(rnd.randrange(1, 6)):
            if rnd.random() < 0.2:
                args += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
            signed = rnd.random() < 0.5
            bits = rnd.randrange(1, 65 if signed else 64)
            typ = ("i" if signed else "u") + str(bits)
            off = rnd.randrange(0, 100) if rnd.random() < 0.7 else f"#{rnd.randrange(0, 4)}"
            op = rnd.choice(["GET", "SET", "INCRBY"])
            args += [op, typ, off]
            if op != "GET":
                big = 2 ** rnd.choice([3, 8, 31, 63])
                args.append(rnd.randrange(-big, big))
        diff(tuple(args), ("GET", "k"))


def test_bit_commands_events_and_propagation(local):
    local("SETBIT", "b", "3", "1")
    local("BITFIELD", "f", "SET", "u8", "0", "1", "INCRBY", "u8", "0", "1", "GET", "u8", "0")
    local("BITOP", "OR", "o", "b", "f")
    local("BITOP", "AND", "o", "nokey")
    prop, events = local.take()
    assert [e for e, _, _ in events if e != b"keymiss"] == [
        b"new", b"setbit", b"new", b"setbit", b"new", b"set", b"del"
    ]
    assert prop[0] == [b"SETBIT", b"b", b"3", b"1"] and len(prop) == 4
    assert isinstance(local.c.db.data[b"b"], bytearray)
    d = local.srv.dirty
    local("BITFIELD", "f", "SET", "u8", "0", "1", "SET", "u8", "8", "1")
    assert local.srv.dirty == d + 2


def test_setbit_and_bitfield_dirty_only_on_change(local):
    """Redis 7.0: no change, no dirty, no event, no propagation (unit/bitops's dirty test)."""

    def step(*cmds):
        d = local.srv.dirty
        for cmd in cmds:
            local(*cmd)
        prop, events = local.take()
        return local.srv.dirty - d, len(prop), [e for e, _, _ in events if e == b"setbit"]

    created = step(("SETBIT", "a", "0", "0"), ("BITFIELD", "b", "SET", "i5", "0", "0"))
    assert created == (2, 2, [b"setbit", b"setbit"])
    assert step(("SETBIT", "a", "0", "0"), ("BITFIELD", "b", "SET", "i5", "0", "0")) == (0, 0, [])
    assert local("SETBIT", "a", "0", "0") == 0 and local("SETBIT", "a", "0", "1") == 0
    local.take()
    assert step(("SETBIT", "a", "0", "1"), ("SETBIT", "a", "0", "0"), ("SETBIT", "a", "0", "0"),
                ("BITFIELD", "b", "SET", "i5", "0", "1"), ("BITFIELD", "b", "SET", "i5", "0", "1"),
                ("BITFIELD", "b", "SET", "i5", "0", "0"))[:2] == (3, 3)
    assert step(("BITFIELD", "c", "INCRBY", "i5", "0", "1"),
                ("BITFIELD", "c", "INCRBY", "i5", "0", "1"))[:2] == (2, 2)
    assert step(("BITFIELD", "c", "INCRBY", "i5", "0", "0"))[:2] == (0, 0)
    # Growing the string is a change even when the bit written is 0.
    assert step(("SETBIT", "a", "90", "0"), ("BITFIELD", "b", "SET", "i5", "90", "0"))[:2] == (2, 2)


def test_redis_py_bitmaps(server):
    r = redis.Redis(port=server.port, protocol=2)
    try:
        assert r.setbit("b", 7, 1) == 0
        assert r.getbit("b", 7) == 1
        assert r.bitcount("b") == 1
        assert r.bitcount("b", 0, 7, mode="BIT") == 1
        assert r.bitpos("b", 1) == 7
        assert r.bitop("NOT", "n", "b") == 1
        assert r.get("n") == b"\xfe"
        bf = r.bitfield("f")
        assert bf.set("u8", 0, 200).incrby("u8", 0, 100).execute() == [0, 44]
        assert r.bitfield_ro("f", "u8", 0) == [44]
    finally:
        r.close()
