"""Corrupt RESTORE payloads (taken from Redis 7.0.15's tests/integration/corrupt-dump.tcl):
each one is refused with Redis's error whatever sanitize-dump-payload says, the reason is
logged, and a payload accepted without deep sanitization leaves a key every read can use."""

from __future__ import annotations

import pytest

from trioredis.config import Config
from trioredis.core import Server
from trioredis.persistence import rdb
from trioredis.protocol.replies import ErrorReply

BAD = {  # test name in corrupt-dump.tcl -> payload (checksums as in the unit; skip-checksum on)
    "invalid zlbytes header": (
        b"\x0D\x1B\x25\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04"
        b"\x02\x63\x00\x04\x02\x64\x00\xFF\x09\x00\xB7\xF7\x6E\x9F\x43\x43\x14\xC6"),
    "#3080 - quicklist": (
        b"\x0E\x01\x80\x00\x00\x00\x10\x41\x41\x41\x41\x41\x41\x41\x41\x02\x00\x00\x80\x41\x41"
        b"\x41\x41\x07\x00\x03\xC7\x1D\xEF\x54\x68\xCC\xF3"),
    "#3080 - ziplist": (
        b"\x0A\x80\x00\x00\x00\x10\x41\x41\x41\x41\x41\x41\x41\x41\x02\x00\x00\x80\x41\x41\x41"
        b"\x41\x07\x00\x39\x5B\x49\xE0\xC1\xC6\xDD\x76"),
    "stream with duplicate consumers": (
        b"\x0F\x00\x00\x00\x00\x01\x07\x6D\x79\x67\x72\x6F\x75\x70\x00\x00\x00\x02\x04\x6E\x61"
        b"\x6D\x65\x2A\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x04\x6E\x61\x6D\x65\x2B\x4C\xAA\x9A\x7D"
        b"\x01\x00\x00\x00\x0A\x00\xCC\xED\x8C\xA7\x62\xEE\xC7\xC8"),
    "hash empty zipmap": b"\x09\x02\x00\xFF\x09\x00\xC0\xF1\xB8\x67\x4C\x16\xAC\xE3",
    "uneven entry count in hash": (
        b"\x0D\x3D\x3D\x00\x00\x00\x38\x00\x00\x00\x14\x00\x00\xF2\x02\x02\x5F\x31\x04\x1C\x02"
        b"\xF7\x02\xF1\x02\xF1\x02\xF5\x02\xF5\x02\xF4\x02\x02\x5F\x33\x04\xF6\x02\x02\x5F\x35"
        b"\x04\xF8\x02\x02\x5F\x37\x04\xF9\x02\xF9\x02\xF3\x02\xF3\x02\xFA\x02\x02\x5F\x39\xFF"
        b"\x09\x00\x73\xB7\x68\xC8\x97\x24\x8E\x88"),
    "empty intset": (
        b"\x02\xC0\xC0\x06\x02\x5F\x39\xC0\x02\x02\x5F\x33\xC0\x00\x02\x5F\x31\xC0\x04\xC0\x08"
        b"\x02\x5F\x37\x02\x5F\x35\x09\x00\xC5\xD4\x6D\xBA\xAD\x14\xB7\xE7"),
    "zset ziplist entry lensize is 0": (
        b"\x0C\x3D\x3D\x00\x00\x00\x3A\x00\x00\x00\x14\x00\x00\xF1\x02\xF1\x02\x02\x5F\x31\x04"
        b"\xF2\x02\xF3\x02\xF3\x02\x02\x5F\x33\x04\xF4\x02\xEE\x02\xF5\x02\x02\x5F\x35\x04\xF6"
        b"\x02\xF7\x02\xF7\x02\x02\x5F\x37\x04\xF8\x02\xF9\x02\xF9\x02\x02\x5F\x39\x04\xFA\xFF"
        b"\x09\x00\xAE\xF9\x77\x2A\x47\x24\x33\xF6"),
}


def _server(sanitize: str) -> Server:
    srv = Server(Config(**{"sanitize-dump-payload": sanitize, "loglevel": "verbose"}))
    srv.skip_checksum_validation = True  # DEBUG SET-SKIP-CHECKSUM-VALIDATION 1, as the unit
    return srv


@pytest.mark.parametrize("sanitize", ["yes", "no", "clients"])
@pytest.mark.parametrize("name", sorted(BAD))
def test_corrupt_payload_is_refused(name, sanitize, capsys):
    srv = _server(sanitize)
    c = srv.new_client()
    reply = srv.execute(c, [b"RESTORE", b"k", b"0", BAD[name]])
    assert isinstance(reply, ErrorReply)
    assert reply.message == "ERR Bad data format"
    assert srv.dbs[0].lookup(b"k") is None
    assert "Internal error in RDB reading offset" in capsys.readouterr().out  # verbose log


def test_checksum_is_checked_unless_skipped():
    srv = Server(Config())
    c = srv.new_client()
    reply = srv.execute(c, [b"RESTORE", b"k", b"0", BAD["hash empty zipmap"][:-1] + b"\x00"])
    assert reply.message == "ERR DUMP payload version or checksum are wrong"


def test_redundant_stream_count_is_checked_only_deep():
    from trioredis.persistence.listpack import lp_decode, lp_encode
    from trioredis.persistence.rdb_reader import _stream_node_entries

    items = [1, 0, 1, b"f", 0, 2, 0, 0, b"v", 4]  # master (1 live, 1 field) + a SAMEFIELDS entry
    items = lp_decode(lp_encode(items))
    assert _stream_node_entries(items, 5, 0, 0) == [(5 << 64, [b"f", b"v"])]
    items[-1] = 7  # the entry's lp-count, wrong
    with pytest.raises(rdb.RDBError, match="lp-count"):
        _stream_node_entries(items, 5, 0, 0, deep=True)
    assert _stream_node_entries(items, 5, 0, 0, deep=False) == [(5 << 64, [b"f", b"v"])]
