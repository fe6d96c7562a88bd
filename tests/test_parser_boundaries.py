"""Regression: a chunk that ends right after a request's first arguments is not a boundary.

hiredis reports no buffered data once it has consumed "*3\\r\\n$3\\r\\nSET\\r\\n" into a half-built
request; the parser must not then take the next chunk's "$6..." for an inline request.
"""

import random

from trioredis.protocol.encoder import encode2
from trioredis.protocol.parser import RequestParser


def test_random_chunking_of_a_long_stream():
    rnd = random.Random(1)
    reqs = [[b"SET", b"k%d" % i, b"v" * rnd.randrange(0, 200)] for i in range(5000)]
    stream = b"".join(encode2(r) for r in reqs)
    for _ in range(10):
        p = RequestParser()
        out, pos = [], 0
        while pos < len(stream):
            n = rnd.choice([1, 7, 100, 4096, rnd.randrange(1, 70000)])
            out += p.feed(stream[pos : pos + n])
            pos += n
            assert p.error is None
        assert out == reqs


def test_chunk_ending_inside_a_request_after_whole_arguments():
    p = RequestParser()
    assert p.feed(b"*3\r\n$3\r\nSET\r\n") == []
    assert p.feed(b"$1\r\nk\r\n$1\r\nv\r\n") == [[b"SET", b"k", b"v"]]
    assert p.feed(b"PING\r\n") == [[b"PING"]]


def test_type_bytes_inside_payloads_parse_exactly():
    from trioredis.protocol.encoder import encode2 as enc

    reqs = [[b"ZRANGEBYSCORE", b"z", b"(1", b"+inf"], [b"XADD", b"s", b"MAXLEN", b"~", b"10",
            b"*", b"f", b"v"], [b"SET", b"k", b"=x|y>z"]] * 20
    p = RequestParser()
    assert p.feed(b"".join(enc(r) for r in reqs)) == reqs
    # ... while an element that is not a bulk string is still refused, as Redis does.
    p = RequestParser()
    assert p.feed(b"*2\r\n$3\r\nGET\r\n+k\r\n") == []
    assert p.error == "ERR Protocol error: expected '$', got '+'"
