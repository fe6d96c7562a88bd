"""Tests for trioredis.glob: tables, a reference model, and real redis-server."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trioredis.glob import compile_glob, glob_match

# ---------------------------------------------------------------------------
# Reference: a direct, recursive transcription of Redis 7.0's
# stringmatchlen_impl (src/util.c), with x86-64 signed chars and glibc's
# C-locale tolower().  Exponential in bad cases: only use on short inputs.
# ---------------------------------------------------------------------------


def _sc(b: int) -> int:  # C `char` is signed on x86-64
    return b - 256 if b >= 128 else b


def _tolower(c: int) -> int:  # glibc tolower() for -128..127
    if 65 <= c <= 90:
        return c + 32
    if -128 <= c <= -2:
        return c + 256
    return c


def reference_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    pat = pattern + b"\0"  # Redis patterns are sds strings: NUL-terminated

    def impl(p: int, plen: int, s: int, slen: int, skip: list, nesting: int) -> bool:
        if nesting > 1000:
            return False
        while plen and slen:
            ch = pat[p]
            if ch == ord("*"):
                while plen and pat[p + 1] == ord("*"):
                    p += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(p + 1, plen - 1, s, slen, skip, nesting + 1):
                        return True
                    if skip[0]:
                        return False
                    s += 1
                    slen -= 1
                skip[0] = True
                return False
            elif ch == ord("?"):
                s += 1
                slen -= 1
            elif ch == ord("["):
                p += 1
                plen -= 1
                negate = pat[p] == ord("^")
                if negate:
                    p += 1
                    plen -= 1
                match = False
                while True:
                    if pat[p] == ord("\\") and plen >= 2:
                        p += 1
                        plen -= 1
                        if pat[p] == string[s]:
                            match = True
                    elif pat[p] == ord("]"):
                        break
                    elif plen == 0:
                        p -= 1
                        plen += 1
                        break
                    elif plen >= 3 and pat[p + 1] == ord("-"):
                        start, end, c = _sc(pat[p]), _sc(pat[p + 2]), _sc(string[s])
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start, end, c = _tolower(start), _tolower(end), _tolower(c)
                        p += 2
                        plen -= 2
                        if start <= c <= end:
                            match = True
                    elif nocase:
                        if _tolower(_sc(pat[p])) == _tolower(_sc(string[s])):
                            match = True
                    elif pat[p] == string[s]:
                        match = True
                    p += 1
                    plen -= 1
                if negate:
                    match = not match
                if not match:
                    return False
                s += 1
                slen -= 1
            else:
                if ch == ord("\\") and plen >= 2:
                    p += 1
                    plen -= 1
                a, b = _sc(pat[p]), _sc(string[s])
                if (_tolower(a) != _tolower(b)) if nocase else (a != b):
                    return False
                s += 1
                slen -= 1
            p += 1
            plen -= 1
            if slen == 0:
                while pat[p] == ord("*"):
                    p += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, len(pattern), 0, len(string), [False], 0)


# ---------------------------------------------------------------------------
# Table tests
# ---------------------------------------------------------------------------

CASES = [
    # (pattern, subject, expected)
    (b"", b"", True),
    (b"", b"a", False),
    (b"*", b"", False),  # Redis quirk: only KEYS/SCAN special-case "*"
    (b"**", b"", False),
    (b"?", b"", False),
    (b"*", b"anything", True),
    (b"***", b"x", True),
    (b"hello", b"hello", True),
    (b"hello", b"hell", False),
    (b"h?llo", b"hallo", True),
    (b"h?llo", b"hllo", False),
    (b"h*llo", b"hllo", True),
    (b"h*llo", b"heeeello", True),
    (b"*llo", b"llo", True),
    (b"a*", b"a", True),
    (b"a*b*", b"ab", True),
    (b"a*b", b"abab", True),
    (b"*a*b", b"xaxbxb", True),
    (b"*.txt", b"a.txt.bak", False),
    # brackets, negation, ranges
    (b"h[ae]llo", b"hello", True),
    (b"h[ae]llo", b"hillo", False),
    (b"h[^e]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[a-b]llo", b"hcllo", False),
    (b"[z-a]", b"m", True),  # reversed range is swapped
    (b"[a-a]", b"a", True),
    (b"[^a-z]", b"A", True),
    (b"[^a-z]", b"q", False),
    (b"[]", b"]", False),  # ']' right after '[' closes an empty class
    (b"[]]", b"]", False),
    (b"[]]", b"]]", False),
    (b"[]a]", b"]", False),
    (b"[^]", b"x", True),  # negated empty class: any byte
    (b"[^^]", b"^", False),
    (b"[^^]", b"a", True),
    (b"[a^]", b"^", True),
    (b"[-a]", b"-", True),
    (b"[a-]", b"-", False),  # "a-]" is a range ']'..'a', then class goes on
    (b"[a-]", b"_", True),
    (b"[a-]x]", b"^", True),
    (b"[a-]x]", b"x", True),
    (b"[a-]x]", b"`x]", False),
    (b"[a-]x]", b"`", True),
    (b"[--0]", b"/", True),
    (b"[\\]]", b"]", True),  # escaped ']' inside a class
    (b"[\\^a]", b"^", True),
    (b"[\\a-z]", b"-", True),  # escape breaks the range: {a, -, z}
    (b"[\\a-z]", b"m", False),
    (b"[a-\\]", b"\\", True),  # '\' as range end is not an escape
    (b"[a-\\]", b"_", True),
    # unterminated brackets take the rest of the pattern
    (b"[", b"[", False),
    (b"[", b"", False),
    (b"[^", b"x", True),
    (b"[^", b"xy", False),
    (b"[abc", b"b", True),
    (b"[abc", b"[", False),
    (b"[abc", b"bc", False),
    (b"x[a-", b"x-", True),
    (b"x[a-", b"xb", False),
    (b"[\\", b"\\", True),
    (b"[*", b"*", True),
    # escapes outside brackets
    (b"\\*", b"*", True),
    (b"\\*", b"x", False),
    (b"\\?", b"?", True),
    (b"\\[a]", b"[a]", True),
    (b"\\[a]", b"a", False),
    (b"\\a", b"a", True),
    (b"\\\\", b"\\", True),
    (b"a\\", b"a\\", True),  # trailing backslash is a literal backslash
    (b"a\\", b"a", False),
    (b"\\", b"\\", True),
    (b"*\\*", b"abc*", True),
    (b"*\\*", b"abc", False),
    # binary safety, signed-char ranges
    (b"a\x00b", b"a\x00b", True),
    (b"a?b", b"a\x00b", True),
    (b"a\x00*", b"a", False),
    (b"[\x00-\x01]", b"\x01", True),
    (b"\xff*", b"\xff\xfe", True),
    (b"[\x80-\xff]", b"\xc8", True),
    (b"[\x80-\xff]", b"a", False),
    (b"[a-\xff]", b"0", True),  # signed: -1..97
    (b"[a-\xff]", b"\xff", True),
    (b"[a-\xff]", b"\x80", False),
    (b"[a-\xff]", b"b", False),
    (b"[\x7f-\x80]", b"A", True),  # signed: -128..127, i.e. everything
    (b"[\x7f-\x80]", b"\xc8", True),
]

NOCASE_CASES = [
    (b"HELLO", b"hello", True),
    (b"hello", b"HeLLo", True),
    (b"h*O", b"HELLO", True),
    (b"[A-C]x", b"bX", True),
    (b"[a-c]x", b"BX", True),
    (b"[^a]", b"A", False),
    (b"[A]", b"a", True),
    (b"[\\A]", b"a", False),  # escaped bytes in a class stay case-sensitive
    (b"[\\A]", b"A", True),
    (b"\\A", b"a", True),  # ...but escapes outside a class fold
    (b"[A-z]", b"_", False),  # bounds lowered: 'a'..'z'
    (b"[A-z]", b"Q", True),
    (b"[Z-a]", b"_", False),  # swapped then lowered: 'z'..'a' is empty
    (b"[Z-a]", b"a", False),
    (b"\xc8", b"\xc8", True),
    (b"[\x80-\xfe]", b"\xc8", True),
    (b"[a-\xff]", b"0", True),  # tolower(-1) is EOF: -1..97 stays as is
    (b"[a-\xff]", b"b", False),
    (b"[a-\xfe]", b"a", False),  # glibc tolower(-2) == 254: 254..97 is empty
]


@pytest.mark.parametrize(("pattern", "subject", "expected"), CASES)
def test_table(pattern: bytes, subject: bytes, expected: bool) -> None:
    assert glob_match(pattern, subject) is expected
    assert reference_match(pattern, subject) is expected


@pytest.mark.parametrize(("pattern", "subject", "expected"), NOCASE_CASES)
def test_table_nocase(pattern: bytes, subject: bytes, expected: bool) -> None:
    assert glob_match(pattern, subject, nocase=True) is expected
    assert reference_match(pattern, subject, nocase=True) is expected


def test_case_sensitive_by_default() -> None:
    assert not glob_match(b"HELLO", b"hello")
    assert not glob_match(b"[A-C]", b"b")


def test_star_nesting_limit() -> None:
    # Redis gives up (no match) past 1000 nested '*' recursions; a final
    # '*' does not recurse.
    subject = b"a" * 3000
    assert glob_match(b"*a" * 1000, subject)
    assert not glob_match(b"*a" * 1001, subject)
    assert glob_match(b"*a" * 1000 + b"*", subject)
    assert not glob_match(b"*a" * 1001 + b"*", subject)


def test_pathological_patterns_finish() -> None:
    subject = b"a" * 10_000
    assert not glob_match(b"a*a*a*a*a*a*a*a*b", subject)
    assert glob_match(b"a*a*a*a*a*a*a*a*a", subject)
    assert not glob_match(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b*", subject)
    assert not glob_match(b"*" + b"?*" * 50 + b"b", subject)
    assert not glob_match(b"*" + b"a" * 100 + b"b", subject)
    assert not glob_match(b"[a]*[a]*[a]*[a]*[a]*[a]*[a]*[a]*[b]", subject, nocase=True)


def test_compile_glob_fast_paths_and_cache() -> None:
    everything = compile_glob(b"*")
    assert everything(b"x") and everything(b"\x00") and not everything(b"")
    exact = compile_glob(b"key:1")
    assert exact(b"key:1") and not exact(b"key:10") and not exact(b"KEY:1")
    exact_nc = compile_glob(b"key:1", nocase=True)
    assert exact_nc(b"KEY:1") and not exact_nc(b"KEY:10")
    prefix = compile_glob(b"user:*")
    assert prefix(b"user:") and prefix(b"user:42") and not prefix(b"use")
    assert compile_glob(b"a*b") is compile_glob(b"a*b")
    assert glob_match(bytearray(b"a*"), b"abc")


# ---------------------------------------------------------------------------
# Property test against the reference
# ---------------------------------------------------------------------------

_PATTERN_BYTES = b"*?[]^-\\aAbBzZ_`\x00\x7f\x80\xfe\xff"
_SUBJECT_BYTES = b"aAbBzZ_`-]^\\*?[\x00\x7f\x80\xfe\xff"


@settings(max_examples=3000, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(_PATTERN_BYTES), max_size=10).map(bytes),
    subject=st.lists(st.sampled_from(_SUBJECT_BYTES), max_size=8).map(bytes),
    nocase=st.booleans(),
)
def test_matches_reference(pattern: bytes, subject: bytes, nocase: bool) -> None:
    assert glob_match(pattern, subject, nocase) == reference_match(pattern, subject, nocase)


@settings(max_examples=500, deadline=None)
@given(
    lo=st.integers(0, 255),
    hi=st.integers(0, 255),
    c=st.integers(0, 255),
    negate=st.booleans(),
    nocase=st.booleans(),
)
def test_ranges_match_reference(lo: int, hi: int, c: int, negate: bool, nocase: bool) -> None:
    pattern = b"[" + (b"^" if negate else b"") + bytes([lo, 0x2D, hi]) + b"]"
    subject = bytes([c])
    assert glob_match(pattern, subject, nocase) == reference_match(pattern, subject, nocase)


# ---------------------------------------------------------------------------
# Differential test against a real redis-server
# ---------------------------------------------------------------------------

_SERVER_PATTERNS = [
    b"*",
    b"**",
    b"?",
    b"??",
    b"?*",
    b"*?",
    b"",
    b"a",
    b"a*",
    b"*a",
    b"*a*",
    b"[a-c]*",
    b"[c-a]*",
    b"[^a]*",
    b"[^]",
    b"[]",
    b"[",
    b"[^",
    b"[a",
    b"[a-",
    b"[a-]",
    b"[a-]]",
    b"[]]",
    b"[\\]]",
    b"[\\",
    b"\\",
    b"a\\",
    b"\\*",
    b"*\\*",
    b"\\[*",
    b"[*]",
    b"[?]",
    b"[\\^]",
    b"[^^]",
    b"[--0]",
    b"[a-\\]",
    b"[\\a-c]",
    b"[a-\xff]",
    b"[\x80-\xff]*",
    b"[\x7f-\x80]",
    b"*\xff",
    b"\x00*",
    b"*\x00*",
    b"[\x00-a]?",
    b"*a*b*",
    b"*a?b*",
    b"a*a*a*b",
    b"[A-Z]*",
    b"[A-z]",
    b"[Z-a]",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def glob_server():
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server not found on PATH; skipping differential tests")
    redis = pytest.importorskip("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None:
                    pytest.skip("redis-server exited during startup")
                time.sleep(0.05)
        else:
            pytest.skip("redis-server did not start")
        yield client
    finally:
        client.close()
        proc.kill()
        proc.wait()


def _tricky_keys() -> set[bytes]:
    rnd = random.Random(1234)
    alphabet = b"aAbBcCzZ_`-[]^\\*?\x00\x7f\x80\xc8\xff0"
    keys = {b"", b"a" * 50, b"a" * 49 + b"b"}
    keys.update(bytes([c]) for c in alphabet)
    while len(keys) < 400:
        keys.add(bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 5))))
    return keys


@pytest.mark.redis
def test_keys_matches_real_redis(glob_server) -> None:
    keys = _tricky_keys()
    glob_server.flushall()
    glob_server.mset({k: b"1" for k in keys})
    rnd = random.Random(99)
    alphabet = b"*?[]^-\\aAbBzZ\x00\xff"
    random_patterns = [
        bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 7))) for _ in range(300)
    ]
    for pattern in _SERVER_PATTERNS + random_patterns:
        expected = set(glob_server.keys(pattern))
        # KEYS short-circuits the literal pattern "*" (so it finds b"").
        ours = {k for k in keys if pattern == b"*" or glob_match(pattern, k)}
        assert ours == expected, pattern


@pytest.mark.redis
def test_nesting_limit_matches_real_redis(glob_server) -> None:
    glob_server.flushall()
    key = b"a" * 3000
    glob_server.set(key, b"1")
    for pattern in (b"*a" * 1000, b"*a" * 1001, b"*a" * 1001 + b"*"):
        assert (glob_server.keys(pattern) == [key]) == glob_match(pattern, key)


@pytest.mark.redis
def test_nocase_matches_real_redis(glob_server) -> None:
    # COMMAND LIST FILTERBY PATTERN matches command names with nocase=1.
    names = set(glob_server.execute_command("COMMAND LIST"))
    assert names
    for pattern in [
        b"GET",
        b"g[A-E]t",
        b"[Z-a]et",
        b"[A-z]et",
        b"[\\G]et",
        b"[\\g]ET",
        b"\\GET",
        b"CONFIG|*",
        b"*|G*",
        b"[^a-z]*",
        b"?E?",
        b"x[A-",
    ]:
        expected = set(glob_server.execute_command("COMMAND LIST FILTERBY PATTERN", pattern))
        assert {n for n in names if glob_match(pattern, n, nocase=True)} == expected, pattern
