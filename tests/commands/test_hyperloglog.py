"""HyperLogLog: differential tests against a real Redis 7.0 on the raw bytes (GET of the HLL
string after PFADD of many random elements, sparse and dense, PFMERGE results, PFCOUNT of unions,
corrupted values and every error), and in-process checks of propagation, events and the two
sparse update paths (byte-level and opcode-list) against each other."""

from __future__ import annotations

import random

import pytest

from trioredis.datatypes import hyperloglog as H

from ..helpers import RawClient
from .test_strings import diff_fixture, local_fixture  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _reset_real_slowlog(request):
    """Big commands here can take over 10 ms on the shared real Redis: leave its SLOWLOG empty
    for the tests that compare it."""
    yield
    if "real_redis" in request.fixturenames:
        cl = RawClient(request.getfixturevalue("real_redis").port)
        cl.command("SLOWLOG", "RESET")
        cl.close()


def _elements(rnd: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.4:
            out.append(b"e%d" % rnd.randrange(10**9))
        elif r < 0.8:
            out.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 25))))
        else:
            out.append(b"%d" % rnd.randrange(-1000, 1000))
    return out


def _add_in_batches(diff, rnd, key, elements):
    i = 0
    while i < len(elements):
        k = rnd.choice((1, 2, 5, 20, 100, 400))
        diff(("PFADD", key, *elements[i:i + k]))
        i += k


# -- differential: the bytes --------------------------------------------------------------------


def test_pfadd_bytes_sparse_and_dense(diff):
    rnd = random.Random(1)
    for n in (0, 1, 5, 60, 400, 1300, 2500, 6000):
        key = f"h{n}"
        diff(("PFADD", key))
        _add_in_batches(diff, rnd, key, _elements(rnd, n))
        diff(("GET", key), ("PFDEBUG", "ENCODING", key), ("PFCOUNT", key), ("GET", key),
             ("PFCOUNT", key), ("STRLEN", key), ("OBJECT", "ENCODING", key))
        if n <= 1300:
            diff(("PFDEBUG", "DECODE", key))


def test_pfadd_return_values_and_cache(diff):
    diff(
        ("PFADD", "h", "a", "b", "c"), ("GET", "h"), ("PFADD", "h", "a"), ("PFADD", "h"),
        ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"), ("PFADD", "h", "b", "a"), ("GET", "h"),
        ("PFADD", "h", "d"), ("GET", "h"), ("PFCOUNT", "h"), ("PFADD", "new"), ("GET", "new"),
        ("PFCOUNT", "new"), ("GET", "new"), ("PFCOUNT", "nokey"), ("EXISTS", "nokey"),
        ("PFADD", "e", ""), ("GET", "e"), ("PFADD", "e", ""), ("PFCOUNT", "e"),
    )


def test_pfcount_union_and_pfmerge(diff):
    rnd = random.Random(2)
    sizes = {"s1": 50, "s2": 300, "s3": 900, "d1": 4000, "d2": 8000}
    for key, n in sizes.items():
        diff(("PFADD", key, *_elements(rnd, n)))
    diff(("PFADD", "same", "x"))
    keys = list(sizes)
    cmds = [("PFCOUNT", "s1", "s2"), ("PFCOUNT", "s1", "nokey"), ("PFCOUNT", "nokey", "nokey2"),
            ("PFCOUNT", *keys), ("PFCOUNT", "d1", "d1"), ("PFCOUNT", "s1", "s1", "s2")]
    for k in keys:
        cmds.append(("GET", k))  # PFCOUNT of several keys changes none of them
    diff(*cmds)
    merges = [("m1", "s1", "s2"), ("m2", "s1", "d1"), ("m3", "s3", "s2", "s1"), ("m4",),
              ("m5", "nokey"), ("s1", "s2"), ("d2", "s3"), ("s3", "d1"), ("same", "same")]
    for dst, *srcs in merges:
        diff(("PFMERGE", dst, *srcs), ("GET", dst), ("PFCOUNT", dst), ("PFDEBUG", "ENCODING", dst))
    diff(("SET", "ttl", "x", "EX", "100"), ("DEL", "ttl"), ("PFADD", "ttl", "a"),
         ("EXPIRE", "ttl", "100"), ("PFMERGE", "ttl", "s2"), ("TTL", "ttl"), ("GET", "ttl"))


def test_pfmerge_sparse_promotion(diff):
    """Merging sparse HLLs whose union no longer fits the sparse limit."""
    rnd = random.Random(3)
    for i in range(4):
        diff(("PFADD", f"p{i}", *_elements(rnd, 700)))
    diff(("PFMERGE", "u", "p0", "p1", "p2", "p3"), ("GET", "u"), ("PFDEBUG", "ENCODING", "u"))
    diff(("PFMERGE", "p0", "p1"), ("GET", "p0"), ("PFCOUNT", "p0", "p1", "p2"))


def test_sparse_max_bytes_config(diff):
    rnd = random.Random(4)
    diff(("CONFIG", "GET", "hll-sparse-max-bytes"), ("CONFIG", "SET", "hll-sparse-max-bytes", "200"),
         ("CONFIG", "GET", "hll-sparse-max-bytes"))
    try:
        diff(("PFADD", "h", *_elements(rnd, 40)), ("GET", "h"))
        _add_in_batches(diff, rnd, "h", _elements(rnd, 200))
        diff(("GET", "h"), ("PFDEBUG", "ENCODING", "h"))
        diff(("CONFIG", "SET", "hll-sparse-max-bytes", "0"), ("PFADD", "z", "a"), ("GET", "z"),
             ("PFADD", "z"), ("PFADD", "z2"), ("PFMERGE", "z3", "z2"), ("GET", "z3"))
        diff(("CONFIG", "SET", "hll-sparse-max-bytes", "1kb"), ("CONFIG", "GET", "hll-sparse-max-bytes"),
             ("CONFIG", "SET", "hll-sparse-max-bytes", "-1"), ("CONFIG", "SET", "hll-sparse-max-bytes", "x"))
    finally:
        diff.both("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


def test_type_errors(diff):
    dense_hdr = b"HYLL\x00" + bytes(11)
    diff(
        ("RPUSH", "l", "a"), ("PFADD", "l", "x"), ("PFCOUNT", "l"), ("PFCOUNT", "l", "nokey"),
        ("PFMERGE", "d", "l"), ("PFMERGE", "l", "nokey"), ("PFDEBUG", "GETREG", "l"),
        ("SET", "s", "hello"), ("PFADD", "s", "x"), ("PFCOUNT", "s"), ("PFCOUNT", "nokey", "s"),
        ("PFMERGE", "d", "s"), ("PFMERGE", "s"), ("EXISTS", "d"), ("PFDEBUG", "ENCODING", "s"),
        ("SET", "i", "123"), ("PFADD", "i"), ("SET", "short", "HYLL\x01"), ("PFCOUNT", "short"),
        ("SET", "magic", "HYLX\x01" + "\x00" * 11 + "\x7f\xff"), ("PFCOUNT", "magic"),
        ("SET", "enc", "HYLL\x02" + "\x00" * 11 + "\x7f\xff"), ("PFCOUNT", "enc"),
        ("SET", "dense", dense_hdr + bytes(12288)), ("PFCOUNT", "dense"), ("PFADD", "dense", "a"),
        ("GET", "dense"), ("PFDEBUG", "ENCODING", "dense"), ("PFDEBUG", "DECODE", "dense"),
        ("SET", "dshort", dense_hdr + bytes(12287)), ("PFADD", "dshort", "a"),
        ("SET", "dlong", dense_hdr + bytes(12289)), ("PFCOUNT", "dlong"),
        ("PFADD",), ("PFCOUNT",), ("PFMERGE",), ("PFDEBUG", "GETREG"),
        ("PFDEBUG", "GETREG", "s", "x"), ("PFSELFTEST", "x"),
    )


def test_pfdebug(diff):
    rnd = random.Random(5)
    diff(("PFADD", "h", *_elements(rnd, 30)), ("SET", "copy", "x"))
    diff(
        ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "encoding", "h"), ("PFDEBUG", "DECODE", "h"),
        ("PFDEBUG", "FOO", "h"), ("PFDEBUG", "FOO", "nokey"), ("PFDEBUG", "GETREG", "nokey"),
        ("PFDEBUG", "GETREG", "h"), ("PFDEBUG", "ENCODING", "h"), ("GET", "h"),
        ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "DECODE", "h"), ("PFADD", "h2", "a"),
        ("PFDEBUG", "TODENSE", "h2"), ("PFDEBUG", "TODENSE", "h2"), ("GET", "h2"),
        ("PFDEBUG", "GETREG\x00x", "h2"), ("PFDEBUG", "B\x00AD", "h2"),
    )


def test_corrupted_values(diff):
    hdr = b"HYLL\x01" + bytes(10) + b"\x80"  # sparse, cached cardinality invalid
    cases = {
        "tail": hdr + b"\x7f\xff" + b"hello",
        "extra_zero": hdr + b"\x7f\xff\x00",
        "extra_val": hdr + b"\x7f\xff\x80",
        "short": hdr + b"\x7f\xfe",
        "trunc": hdr + b"\x7f\xfe\x40",
        "trunc_only": hdr + b"\x7f",
        "empty_ops": hdr,
        "val_overflow": hdr + b"\x7f\xfd\x83\x83",
        "zeros": hdr + b"\x3f" * 256,
        "xzero1": hdr + b"\x40\x00\x7f\xfe",
        "nonmax": hdr + b"\x00" * 16384,
    }
    for value in cases.values():
        for cmd in (("PFCOUNT", "k"), ("PFCOUNT", "k", "nokey"), ("PFMERGE", "d", "k"),
                    ("PFMERGE", "k", "nokey"), ("PFDEBUG", "DECODE", "k"),
                    ("PFDEBUG", "TODENSE", "k"), ("PFDEBUG", "GETREG", "k"),
                    ("PFADD", "k", "a"), ("PFADD", "k", *[f"x{i}" for i in range(40)]),
                    ("PFADD", "k", *[f"y{i}" for i in range(3000 if len(value) > 100 else 300)])):
            diff(("DEL", "k", "d"), ("SET", "k", value), cmd, ("GET", "k"), ("EXISTS", "d"))
    # A valid cache hides the corruption from PFCOUNT, as in Redis.
    diff(("SET", "k", b"HYLL\x01" + bytes(11) + b"\x7f\xff" + b"x"), ("PFCOUNT", "k"))


def test_corruption_fuzz(diff):
    """Random bytes written into sparse and dense HLLs: the same replies and values after."""
    rnd = random.Random(6)
    diff(("PFADD", "src_s", *_elements(rnd, 300)), ("PFADD", "src_d", *_elements(rnd, 3000)))
    for _ in range(40):
        src = rnd.choice(("src_s", "src_d"))
        diff(("COPY", src, "k", "REPLACE"))
        length = int(diff(("STRLEN", "k"))[1:-2])
        for _ in range(rnd.randrange(1, 4)):
            off = rnd.randrange(16, length) if rnd.random() < 0.9 else rnd.randrange(0, 16)
            junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4)))
            diff(("SETRANGE", "k", off, junk))
        cmd = rnd.choice((("PFADD", "k", *_elements(rnd, rnd.choice((1, 30, 300)))),
                          ("PFCOUNT", "k"), ("PFCOUNT", "k", "src_s"), ("PFMERGE", "k", "src_s"),
                          ("PFMERGE", "d", "k"), ("PFDEBUG", "DECODE", "k"),
                          ("PFDEBUG", "TODENSE", "k")))
        diff(cmd, ("GET", "k"))


def test_resp3_and_command_info(diff):
    diff.both("HELLO", "3")
    diff(("PFADD", "h", "a", "b"), ("PFCOUNT", "h"), ("PFDEBUG", "ENCODING", "h"),
         ("PFMERGE", "h2", "h"), ("PFDEBUG", "DECODE", "h"))
    diff(("COMMAND", "INFO", "pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"),
         ("COMMAND", "DOCS", "pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"),
         ("COMMAND", "GETKEYS", "PFMERGE", "d", "a", "b"), ("COMMAND", "GETKEYS", "PFCOUNT", "a", "b"),
         ("COMMAND", "GETKEYS", "PFDEBUG", "GETREG", "k"))


# -- in-process ---------------------------------------------------------------------------------


def test_propagation_and_events(local):
    assert local("PFADD", "h", "a", "b") == 1
    props, events = local.take()
    assert props == [[b"PFADD", b"h", b"a", b"b"]] and (b"pfadd", b"h", 0) in events
    assert local("PFADD", "h", "a") == 0
    assert local.take() == ([], [])
    c2 = local.srv.new_client()
    local.srv.execute(c2, [b"WATCH", b"h"])
    assert local("PFCOUNT", "h") == 2  # the cache update is a change Redis propagates
    props, events = local.take()
    assert props == [[b"PFCOUNT", b"h"]] and events == [] and c2.dirty_cas
    assert local("PFCOUNT", "h") == 2
    assert local.take() == ([], [])
    assert local("PFCOUNT", "h", "nokey") == 2
    assert local.take() == ([], [(b"keymiss", b"nokey", 0)])
    assert local("PFMERGE", "m", "h") == "OK"
    props, events = local.take()
    assert props == [[b"PFMERGE", b"m", b"h"]] and (b"pfadd", b"m", 0) in events
    assert len(local("PFDEBUG", "GETREG", "m")) == 16384
    assert local.take()[0] == [[b"PFDEBUG", b"GETREG", b"m"]]  # converted: propagated
    assert local("PFDEBUG", "GETREG", "m")[0] >= 0
    assert local.take()[0] == []
    local("MULTI")
    local("PFADD", "x", "1")
    local("PFCOUNT", "x")
    local("EXEC")
    props, _ = local.take()
    assert props == [[b"MULTI"], [b"PFADD", b"x", b"1"], [b"PFCOUNT", b"x"], [b"EXEC"]]


def test_sparse_paths_agree():
    """The opcode-list editor makes exactly the bytes the byte-level port makes."""
    rnd = random.Random(9)
    for limit in (3000, 300, 60, 20000):
        a = bytearray(H.EMPTY_SPARSE)
        b = bytearray(H.EMPTY_SPARSE)
        for _ in range(12):
            if rnd.random() < 0.5:
                pairs = [H.pat_len(e) for e in _elements(rnd, rnd.randrange(1, 300))]
            else:  # clustered registers and small values: many splits and merges
                base = rnd.randrange(16384 - 40)
                pairs = [(base + rnd.randrange(40), rnd.randrange(1, 5)) for _ in range(60)]
            ra = sum(H.set_registers(a, [pair], limit) for pair in pairs)  # byte level
            rb = H.set_registers(b, pairs, limit)  # opcode lists (bulk)
            assert bytes(a) == bytes(b), limit
            assert ra == rb


def test_batch_paths_agree_with_one_by_one():
    """Many updates at once (raw registers, when the result does not depend on their order)
    give exactly the bytes and the change count of the updates made one at a time."""
    rnd = random.Random(11)
    for limit in (3000, 300, 20000, 16):
        for n in (256, 900, 2500, 6000):
            a = bytearray(H.EMPTY_SPARSE)
            if rnd.random() < 0.3:  # start from a dense HLL or a partly filled sparse one
                H.sparse_to_dense(a)
            else:
                H.set_registers(a, [H.pat_len(e) for e in _elements(rnd, rnd.randrange(200))],
                                limit)
            b = bytearray(a)
            pairs = [H.pat_len(e) for e in _elements(rnd, n)]
            if rnd.random() < 0.3:  # repeated registers, counts going up and down
                pairs += [(p[0], rnd.randrange(1, 40)) for p in pairs[: n // 2]]
            assert 200 < H._BATCH  # chunks of 200 take the one-by-one paths
            ra = sum(H.set_registers(a, pairs[i:i + 200], limit) for i in range(0, len(pairs), 200))
            rb = H.set_registers(b, pairs, limit)
            assert bytes(a) == bytes(b), (limit, n)
            assert ra == rb


def test_min_sparse_size():
    """The shortest sparse encoding, counted on whole arrays, against a run-by-run count."""
    def by_runs(raw):
        size, i = H.HDR, 0
        while i < len(raw):
            j = i
            while j < len(raw) and raw[j] == raw[i]:
                j += 1
            n = j - i
            size += (1 if n <= H.ZERO_MAX_LEN else 2) if raw[i] == 0 else (n + 3) // 4
            i = j
        return size

    rnd = random.Random(12)
    for t in range(60):
        raw = bytearray(H.HLL_REGISTERS)
        for _ in range(rnd.choice([0, 1, 40, 1500, 9000])):
            i = rnd.randrange(H.HLL_REGISTERS)
            n = rnd.randrange(1, 12) if t % 2 else 1
            raw[i:i + n] = bytes((rnd.choice((1, 2, rnd.randrange(1, 64))),)) * len(raw[i:i + n])
        if t % 7 == 0:
            raw[0], raw[-1] = 5, 6
        assert H._min_sparse_size(bytes(raw)) == by_runs(raw), t


def test_batch_path_skips_malformed_sparse_values():
    a = bytearray(H.EMPTY_SPARSE[:-1])  # the XZERO's second byte is missing
    b = bytearray(a)
    pairs = [H.pat_len(b"%d" % i) for i in range(300)]
    ra = sum(H.set_registers(a, [pair], 3000) for pair in pairs[:1])
    rb = H.set_registers(b, pairs[:1], 3000)
    assert (bytes(a), ra) == (bytes(b), rb)
    c = bytearray(H.EMPTY_SPARSE[:-1])
    assert H._set_registers_batch(c, pairs, 3000) is None and c == H.EMPTY_SPARSE[:-1]


def test_pfselftest(local):
    assert local("PFSELFTEST") == "OK"


def test_raw_register_helpers():
    rnd = random.Random(10)
    raw = bytes(rnd.randrange(64) for _ in range(H.HLL_REGISTERS))
    buf = bytearray(b"HYLL\x00" + bytes(11)) + H.raw_to_dense(raw)
    assert H.dense_to_raw(buf) == raw
    assert all(H.dense_get(buf, i) == raw[i] for i in range(0, H.HLL_REGISTERS, 97))
    H.dense_set(buf, 16383, 5)
    assert H.dense_get(buf, 16383) == 5 and H.dense_get(buf, 16382) == raw[16382]
    assert H.murmur64a(b"") == H.murmur64a(b"", H._SEED)
    for _ in range(20):  # the big-integer maximum against the plain one
        other = bytes(rnd.choice((0, 1, 32, 51, 63, rnd.randrange(64))) for _ in raw)
        assert H.raw_max(raw, other) == bytes(map(max, raw, other))
        assert H.raw_max(other, raw) == bytes(map(max, raw, other))
    samples = [b"", b"a", b"abcdefgh", b"0.123456789012345", b"x" * 16, b"y" * 23, b"z" * 24,
               bytes(range(256)) * 3] + [b"%r" % rnd.random() for _ in range(200)]
    assert H.pat_lens(samples) == [H.pat_len(e) for e in samples]


def test_keyspace_events(server, real_redis):
    from tests.test_notifications import collect_events

    steps = [("PFADD", "h", "a", "b"), ("PFADD", "h", "a"), ("PFADD", "e"), ("PFCOUNT", "h"),
             ("PFCOUNT", "h", "nokey"), ("PFMERGE", "m", "h", "nokey"), ("PFMERGE", "m"),
             ("PFDEBUG", "TODENSE", "m"), ("PFDEBUG", "GETREG", "h"), ("SET", "s", "x"),
             ("PFADD", "s", "a"), ("PFCOUNT", "nokey")]
    for flags in ("KEA", "KEAmn"):
        assert collect_events(server.port, steps, flags, server) == collect_events(
            real_redis.port, steps, flags)
