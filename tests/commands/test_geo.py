"""Geo commands: geohash arithmetic, differential tests against a real Redis 7.0 (raw bytes,
RESP2 and RESP3, plus a seeded search fuzz), propagation and events in-process, redis-py."""

from __future__ import annotations

import random

import pytest
import redis

from trioredis import geohash
from trioredis.commands.geo import human

from .test_zsets import Diff, Local


@pytest.fixture
def diff(server, real_redis):
    d = Diff(real_redis.port, server.port)
    yield d
    d.close()


# -- geohash unit tests ----------------------------------------------------------------------


def test_encode_decode_known_points():
    # Palermo and Catania as Redis stores them (ZSCORE after GEOADD on 7.0).
    bits = geohash.align52(geohash.encode_wgs84(13.361389, 38.115556), 26)
    assert bits == 3479099956230698
    assert geohash.align52(geohash.encode_wgs84(15.087269, 37.502669), 26) == 3479447370796909
    lon, lat = geohash.decode_score(3479099956230698.0)
    assert human(lon) == b"13.36138933897018433" and human(lat) == b"38.11555639549629859"
    assert geohash.geohash_string(3479099956230698.0) == b"sqc8b49rny0"
    # The corners: at the maximum the cell index overflows by one bit, as in Redis.
    assert geohash.align52(geohash.encode_wgs84(180, 85.05112878), 26) == 13510798882111488
    assert geohash.encode_wgs84(180.1, 0) is None
    assert geohash.geohash_string(0.0) == b"00bh0hbj200"


def test_scores_that_are_not_geohashes_decode_like_x86():
    assert geohash.score_to_bits(-1.0) == (1 << 64) - 1
    assert geohash.score_to_bits(1e20) == 0
    assert geohash.score_to_bits(2.0**63) == 1 << 63
    assert geohash.decode_score(-1.0) == (180.0, geohash.GEO_LAT_MAX)


def test_interleave_roundtrip():
    rnd = random.Random(5)
    for _ in range(200):
        x, y = rnd.getrandbits(32), rnd.getrandbits(32)
        sep = geohash.deinterleave64(geohash.interleave64(x, y))
        assert (sep & 0xFFFFFFFF, sep >> 32) == (x, y)


def test_distance_and_human_format():
    d = geohash.distance(13.361389338970184, 38.115556395496299, 15.087267458438873,
                         37.50266842333162)
    assert b"%.4f" % d == b"166274.1516"
    assert human(-0.0) == b"0" and human(180.0) == b"180" and human(1.5) == b"1.5"


def test_neighbours_wrap_around():
    step = 2
    bits = geohash.encode_wgs84(179.0, 0.0, step)
    east = geohash.neighbors(bits, step)["east"]
    assert geohash.decode(geohash.LONG_RANGE, geohash.LAT_RANGE, east, step)[0] == -180.0


# -- differential ----------------------------------------------------------------------------

GEO_SCRIPT = r"""
geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
geoadd Sicily 200 100 x
geoadd Sicily -200.5 1 x
geoadd Sicily gt 1 2 x
geoadd Sicily xx nx 1 2 x
geoadd Sicily 1 2
geoadd Sicily 1 2 a 3
geoadd Sicily ch 13.361389 38.115556 Palermo 1 2 new
geoadd Sicily ch nx 13.4 38.115556 Palermo 1 2 new2
geoadd Sicily xx 13.4 38.115556 Palermo 1 2 new3
geoadd Sicily abc 2 x
geoadd Sicily 1 abc x
geoadd Sicily 180 85.05112878 edge
geoadd Sicily 180 85.05112879 edge2
geoadd Sicily -180 -85.05112878 edge3
geoadd Sicily inf 0 e4
geoadd Sicily 0 -inf e4
geoadd Sicily ch nx ch 1 2 x
zscore Sicily edge
zscore Sicily edge3
geopos Sicily Palermo edge edge3 nope
geopos nokey a b
geohash Sicily Palermo edge edge3 nope
geohash nokey a
geodist Sicily Palermo Catania
geodist Sicily Palermo Catania km
geodist Sicily Palermo Catania KM
geodist Sicily Palermo Catania ft
geodist Sicily Palermo Catania mi
geodist Sicily Palermo Catania foo
geodist Sicily Palermo Catania km x
geodist Sicily Palermo nope
geodist nokey a b
geodist Sicily Palermo Palermo
zadd Sicily -1 neg 1e20 huge 12345.678 odd
geopos Sicily neg huge odd
geohash Sicily neg huge odd
geodist Sicily neg huge
georadius Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC
georadius Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH DESC
georadius Sicily 15 37 200 km
georadius Sicily 15 37 200 km count 1
georadius Sicily 15 37 200 km count 0
georadius Sicily 15 37 200 km count abc
georadius Sicily 15 37 200 km any
georadius Sicily 15 37 200 km count 1 any desc
georadius Sicily 15 37 200 km count 1 any
georadius Sicily 15 37 -1 km
georadius Sicily 15 37 abc km
georadius Sicily 15 37 200 foo
georadius Sicily 15 37 200 km store
georadius Sicily 15 37 200 km store d withdist
georadius_ro Sicily 15 37 200 km store d
georadius Sicily 15 37 200 km store d
zrange d 0 -1 withscores
georadius Sicily 15 37 200 km storedist d2
zrange d2 0 -1 withscores
georadius Sicily 15 37 200 km store d2 storedist d3 count 1
zrange d3 0 -1 withscores
georadius Sicily 0 0 1 km store d3
exists d3
georadiusbymember Sicily Palermo 200 km withdist
georadiusbymember Sicily nope 200 km withdist
georadiusbymember nokey nope 200 km withdist
georadiusbymember nokey nope abc km withdist
georadiusbymember nokey nope 200 km store d
exists d
georadiusbymember_ro Sicily Palermo 200 km withcoord
georadius nokey 15 37 200 km
georadius nokey 15 37 200 km store d2
exists d2
georadius nokey 1000 37 200 km
set str x
georadius str 15 37 200 km
georadius str 1000 37 200 km
geopos str a
geoadd str 1 1 a
geosearch Sicily frommember Palermo byradius 200 km
geosearch Sicily fromlonlat 15 37 bybox 400 400 km asc withcoord withdist withhash
geosearch Sicily fromlonlat 15 37 bybox 400 400 km desc
geosearch Sicily fromlonlat 15 37 byradius 200 km bybox 1 1 km
geosearch Sicily fromlonlat 15 37 frommember Palermo byradius 200 km
geosearch Sicily frommember Palermo fromlonlat 15 37 byradius 200 km
geosearch Sicily frommember Palermo byradius 200 km withdist withdist
geosearch Sicily byradius 200 km x y
geosearch Sicily fromlonlat 15 37 asc desc
geosearch Sicily fromlonlat 15 37 byradius 200 km store x
geosearch Sicily frommember nope byradius 200 km
geosearch nokey frommember nope byradius 200 km
geosearch nokey frommember nope byradius abc km
geosearch Sicily fromlonlat 15 37 bybox -1 1 km
geosearch Sicily fromlonlat 15 37 bybox abc 1 km
geosearch Sicily fromlonlat 15 37 bybox 1 abc km
geosearch Sicily fromlonlat 15 37 byradius 200 km any
geosearch Sicily fromlonlat 15 37 byradius 200 km count -3
geosearch Sicily fromlonlat 15 37 byradius 200 km count abc
geosearch Sicily fromlonlat 15 37 byradius 200 km count 1 any
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km withdist
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km storedist
zrange dst 0 -1 withscores
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km store foo
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km count 1 desc
zrange dst 0 -1 withscores
geosearchstore dst nokey fromlonlat 15 37 byradius 200 km count 1 desc
exists dst
GEOSEARCH Sicily fromlonlat 15 37 withdist
GeoSearch Sicily byradius 10 km asc
geosearch Sicily fromlonlat 15 37 byradius 0 km
geosearch Sicily fromlonlat 15 37 byradius 0 km storedist
geosearch Sicily fromlonlat 15 37 byradius 1e10 km
geosearch Sicily fromlonlat 15 37 bybox 1e5 10 km withdist
geosearch Sicily fromlonlat 15 37 bybox 10 1e5 km withdist
geosearch Sicily fromlonlat 15 37 byradius 200 KM withdist
geoadd k1 -0.15307903289794921875 85 n1 0.3515625 85.00019260486917005437 n2
georadiusbymember k1 n1 4891.94 m
geoadd k2 10 10 a 10 20 b 10 -30 c 10.0000001 40 d
geosearchstore d k2 frommember a byradius 10000 km storedist
zrange d 0 -1 withscores
geosearch k2 fromlonlat 10 0 bybox 100000 100000 km count 2 any withdist desc
geoadd g 1 1 a 50 50 b -170 -80 c 179 84 d
geosearch g fromlonlat 1 1 byradius 1e308 km
geosearch g fromlonlat 1 1 byradius inf km withdist
geosearch g fromlonlat 1 1 bybox inf inf km withdist
geosearch g fromlonlat 1 1 bybox inf 10 km withdist
geosearch g fromlonlat 1 1 bybox 0 0 km
geosearch g fromlonlat 1 1 byradius 1e300 m withdist count 2 any
geosearch g fromlonlat 180 85 byradius 20000 km withdist
geosearch g fromlonlat -180 -85 byradius 20000 km withdist asc
geosearch g frommember d bybox 40000 40000 km withdist desc
geosearch g fromlonlat 1 1 byradius 1 km count 9223372036854775807
geosearch g fromlonlat 1 1 byradius 1 km count 9223372036854775808
georadius g 1 1 0 m withdist
"""


@pytest.mark.parametrize("resp", [2, 3])
def test_differential(diff, resp):
    if resp == 3:
        diff.both("HELLO", "3")
    diff.script(GEO_SCRIPT)


def test_search_fuzz(diff):
    """Random clouds (poles, antimeridian, equator too) and random searches: same bytes."""
    rnd = random.Random(20240611)
    for round_ in range(8):
        diff.both("DEL", "pts")
        clon, clat = rnd.uniform(-180, 180), rnd.uniform(-85, 85)
        if round_ % 4 == 0:
            clon, clat = rnd.choice([(179.9, 84.9), (-179.9, -80.5), (0.0, 0.0), (45, 66.5)])
        spread = rnd.choice([0.01, 0.5, 5, 40])
        args = ["GEOADD", "pts"]
        for i in range(150):
            lon = min(180, max(-180, clon + rnd.uniform(-2, 2) * spread))
            lat = min(85.05, max(-85.05, clat + rnd.uniform(-1, 1) * spread))
            args += [repr(lon), repr(lat), f"p{i}"]
        diff(args)
        for _ in range(12):
            lon = min(180, max(-180, clon + rnd.uniform(-spread, spread)))
            lat = min(85, max(-85, clat + rnd.uniform(-spread, spread)))
            r = rnd.choice([1, 10, 100, 1000]) * spread * rnd.random() * 100
            unit = rnd.choice(["m", "km", "mi", "ft"])
            kind = rnd.random()
            if kind < 0.4:
                cmd = ["GEOSEARCH", "pts", "FROMLONLAT", repr(lon), repr(lat), "BYRADIUS", repr(r),
                       unit, "WITHDIST", "WITHHASH", "WITHCOORD", rnd.choice(["ASC", "DESC"])]
            elif kind < 0.7:
                cmd = ["GEOSEARCH", "pts", "FROMLONLAT", repr(lon), repr(lat), "BYBOX",
                       repr(r * rnd.uniform(0.2, 3)), repr(r * rnd.uniform(0.2, 3)), unit,
                       "WITHDIST", "ASC"]
            elif kind < 0.85:
                cmd = ["GEOSEARCH", "pts", "FROMMEMBER", f"p{rnd.randrange(150)}", "BYRADIUS",
                       repr(r), unit, "COUNT", str(rnd.randint(1, 20)), "ANY"]
            else:
                diff(["GEOSEARCHSTORE", "dst", "pts", "FROMLONLAT", repr(lon), repr(lat),
                      "BYRADIUS", repr(r), unit, "STOREDIST"])
                cmd = ["ZRANGE", "dst", "0", "-1", "WITHSCORES"]
            diff(cmd)


# -- in-process ------------------------------------------------------------------------------


def test_geoadd_propagates_as_zadd_and_notifies():
    t = Local()
    t("geoadd", "g", "ch", "13.361389", "38.115556", "Palermo")
    prop, events = t.take()
    assert prop == [[b"zadd", b"g", b"ch", b"3479099956230698", b"Palermo"]]
    assert events == [(b"zadd", b"g")]
    t("geoadd", "g", "13.361389", "38.115556", "Palermo")
    assert t.take() == ([], [])
    t("georadius", "g", "13", "38", "100", "km", "store", "d")
    t("geosearchstore", "d2", "g", "fromlonlat", "13", "38", "byradius", "100", "km")
    t("set", "d3", "x")
    t("georadius", "g", "0", "0", "1", "km", "store", "d3")
    prop, events = t.take()
    assert events == [(b"georadiusstore", b"d"), (b"geosearchstore", b"d2"), (b"set", b"d3"),
                      (b"del", b"d3")]
    assert [p[0] for p in prop] == [b"georadius", b"geosearchstore", b"set", b"georadius"]


def test_georadius_store_key_positions():
    from trioredis.commands import registry

    cmd = registry.lookup(b"georadius")
    argv = [b"georadius", b"k", b"1", b"2", b"3", b"km", b"store", b"a", b"storedist", b"b"]
    assert cmd.keys(argv) == [b"k", b"b"]
    assert registry.lookup(b"georadius_ro").keys(argv[:6]) == [b"k"]


def test_redis_py(server):
    r = redis.Redis(port=server.port, protocol=2, decode_responses=True)
    assert r.geoadd("Sicily", [13.361389, 38.115556, "Palermo", 15.087269, 37.502669,
                               "Catania"]) == 2
    assert r.geodist("Sicily", "Palermo", "Catania", unit="km") == 166.2742
    assert r.geohash("Sicily", "Palermo", "nope") == ["sqc8b49rny0", None]
    (pos,) = r.geopos("Sicily", "Palermo")
    assert pos == pytest.approx((13.361389, 38.115556), abs=1e-5)
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km",
                       sort="ASC") == ["Catania", "Palermo"]
    assert r.georadius("Sicily", 15, 37, 100, unit="km", withdist=True) == [["Catania", 56.4413]]
    assert r.geosearchstore("dst", "Sicily", member="Palermo", radius=10, unit="km") == 1
    assert r.zrange("dst", 0, -1) == ["Palermo"]
    r.close()
