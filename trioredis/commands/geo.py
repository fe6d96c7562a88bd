"""Geo commands (Redis 7.0 geo.c): points are sorted set members scored by a 52-bit geohash.

GEOADD rewrites itself into ZADD (and is propagated as that ZADD, as Redis does). Searches
port georadiusGeneric: the 3x3 geohash cells of ``geohash.search_areas``, each scanned as a
score range in order, filtered by exact distance. Distances reply as ``%.4f`` text, positions
in Redis's "human" long double form (``%.17Lf`` without trailing zeros).
"""

from __future__ import annotations

from .. import geohash
from ..datatypes.zset import ZSet
from ..errors import NOT_INTEGER, SYNTAX, CommandError
from ..keyspace import NOTIFY_GENERIC, NOTIFY_ZSET
from ..protocol.replies import NULL_ARRAY, Raw
from .args import parse_int
from .registry import command
from .zsets.basic import zadd_generic
from .zsets.common import parse_score

UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
BAD_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
NO_MEMBER = "ERR could not decode requested zset member"


def _lonlat(blon: bytes, blat: bytes) -> tuple[float, float]:
    """extractLongLatOrReply."""
    lon = parse_score(blon)
    lat = parse_score(blat)
    if (lon < geohash.GEO_LONG_MIN or lon > geohash.GEO_LONG_MAX
            or lat < geohash.GEO_LAT_MIN or lat > geohash.GEO_LAT_MAX):
        raise CommandError(f"ERR invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def _unit(b: bytes) -> float:
    to_meters = UNITS.get(b.lower())
    if to_meters is None:
        raise CommandError(BAD_UNIT)
    return to_meters


def _radius(braw: bytes, bunit: bytes) -> tuple[float, float]:
    """extractDistanceOrReply: (radius, conversion)."""
    d = parse_score(braw, "ERR need numeric radius")
    if d < 0:
        raise CommandError("ERR radius cannot be negative")
    return d, _unit(bunit)


def _box(bw: bytes, bh: bytes, bunit: bytes) -> tuple[float, float, float]:
    """extractBoxOrReply: (width, height, conversion)."""
    w = parse_score(bw, "ERR need numeric width")
    h = parse_score(bh, "ERR need numeric height")
    if h < 0 or w < 0:
        raise CommandError("ERR height or width cannot be negative")
    return w, h, _unit(bunit)


def _member_pos(zs: ZSet, member: bytes) -> tuple[float, float]:
    score = zs.scores.get(member)
    if score is None:
        raise CommandError(NO_MEMBER)
    return geohash.decode_score(score)


def human(v: float) -> bytes:
    """ld2string(LD_STR_HUMAN): ``%.17Lf`` of the value, trailing zeros and dot removed."""
    s = b"%.17f" % v
    if b"." in s:
        s = s.rstrip(b"0").rstrip(b".")
    return b"0" if s == b"-0" else s


def _coord(c, v: float):
    """addReplyHumanLongDouble: bulk text in RESP2, the same text as a double in RESP3."""
    s = human(v)
    return Raw(b"," + s + b"\r\n") if c.resp == 3 else s


# -- GEOADD / GEOPOS / GEODIST / GEOHASH -----------------------------------------------------


@command("geoadd", -5, "write denyoom", keys=(1, 1, 1), group="geo", since="3.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in the "
         "sorted set.")
def geoadd(c, argv):
    """Add one or more geospatial items in the geospatial index represented using a sorted set"""
    n = len(argv)
    i = 2
    nx = xx = False
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        i += 1
    if (n - i) % 3 or (nx and xx):
        raise CommandError(SYNTAX)
    zargv = [b"zadd", *argv[1:i]]
    for j in range(i, n, 3):
        lon, lat = _lonlat(argv[j], argv[j + 1])
        bits = geohash.align52(geohash.encode_wgs84(lon, lat), geohash.GEO_STEP_MAX)
        zargv.append(b"%d" % bits)
        zargv.append(argv[j + 2])
    reply = zadd_generic(c, zargv, 0)
    c.propagate_as = [zargv]
    return reply


@command("geopos", -2, "readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         complexity="O(N) where N is the number of members requested.")
def geopos(c, argv):
    """Returns longitude and latitude of members of a geospatial index"""
    zs = c.db.get_typed(argv[1], ZSet)
    out = []
    for member in argv[2:]:
        score = None if zs is None else zs.scores.get(member)
        if score is None:
            out.append(NULL_ARRAY)
        else:
            lon, lat = geohash.decode_score(score)
            out.append([_coord(c, lon), _coord(c, lat)])
    return out


@command("geodist", -4, "readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         complexity="O(log(N))")
def geodist(c, argv):
    """Returns the distance between two members of a geospatial index"""
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise CommandError(SYNTAX)
    zs = c.db.get_typed(argv[1], ZSet)
    if zs is None:
        return None
    s1 = zs.scores.get(argv[2])
    s2 = zs.scores.get(argv[3])
    if s1 is None or s2 is None:
        return None
    lon1, lat1 = geohash.decode_score(s1)
    lon2, lat2 = geohash.decode_score(s2)
    return b"%.4f" % (geohash.distance(lon1, lat1, lon2, lat2) / to_meter)


@command("geohash", -2, "readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         complexity="O(log(N)) for each member requested, where N is the number of elements in "
         "the sorted set.")
def geohash_cmd(c, argv):
    """Returns members of a geospatial index as standard geohash strings"""
    zs = c.db.get_typed(argv[1], ZSet)
    out = []
    for member in argv[2:]:
        score = None if zs is None else zs.scores.get(member)
        out.append(None if score is None else geohash.geohash_string(score))
    return out


# -- searches --------------------------------------------------------------------------------

_COORDS, _MEMBER, _NOSTORE, _SEARCH, _SEARCHSTORE = 1, 2, 4, 8, 16
_SORT_NONE, _SORT_ASC, _SORT_DESC = 0, 1, 2


def _points_in_cells(zs: ZSet, shape: geohash.Shape, step: int, cells: list, limit: int):
    """membersOfAllNeighbors: [(dist, score, member, lon, lat)] of the points in the area."""
    found: list = []
    last = 0
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        if last and cell == cells[last]:
            continue  # huge radius: neighbours can be the same cell
        if found and limit and len(found) >= limit:
            break
        lo = geohash.align52(cell, step)
        hi = geohash.align52(cell + 1, step)
        a, b = zs.score_span(lo, False, hi, True)
        for score, member in zs.slice(a, b):
            lon, lat = geohash.decode_score(score)
            d = shape.contains(lon, lat)
            if d is not None:
                found.append((d, score, member, lon, lat))
            if found and limit and len(found) >= limit:
                break
        last = i
    return found


def georadius_generic(c, argv, src_idx: int, flags: int):
    """georadiusGeneric: GEORADIUS[BYMEMBER][_RO], GEOSEARCH and GEOSEARCHSTORE."""
    storekey = None
    storedist = False
    db = c.db
    zs = db.get_typed(argv[src_idx], ZSet)
    shape = geohash.Shape()
    if flags & _COORDS:
        base = 6
        shape.lon, shape.lat = _lonlat(argv[2], argv[3])
        shape.radius, shape.conversion = _radius(argv[4], argv[5])
    elif flags & _MEMBER:
        base = 5
        if zs is not None:
            shape.lon, shape.lat = _member_pos(zs, argv[2])
            shape.radius, shape.conversion = _radius(argv[3], argv[4])
    else:
        base = 2
        if flags & _SEARCHSTORE:
            base = 3
            storekey = argv[1]

    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = False
    sort = _SORT_NONE
    any_ = False
    count = 0
    n = len(argv)
    remaining = n - base
    i = 0
    while i < remaining:
        arg = argv[base + i].lower()
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoords = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = _SORT_ASC
        elif arg == b"desc":
            sort = _SORT_DESC
        elif arg == b"count" and i + 1 < remaining:
            count = parse_int(argv[base + i + 1], NOT_INTEGER)
            if count <= 0:
                raise CommandError("ERR COUNT must be > 0")
            i += 1
        elif (arg == b"store" or arg == b"storedist") and i + 1 < remaining and not (
            flags & (_NOSTORE | _SEARCH)
        ):
            storekey = argv[base + i + 1]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and flags & _SEARCH and flags & _SEARCHSTORE:
            storedist = True
        elif arg == b"frommember" and i + 1 < remaining and flags & _SEARCH and not fromloc:
            if zs is not None:
                shape.lon, shape.lat = _member_pos(zs, argv[base + i + 1])
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and flags & _SEARCH and not frommember:
            shape.lon, shape.lat = _lonlat(argv[base + i + 1], argv[base + i + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and flags & _SEARCH and not bybox:
            shape.radius, shape.conversion = _radius(argv[base + i + 1], argv[base + i + 2])
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and flags & _SEARCH and not byradius:
            shape.width, shape.height, shape.conversion = _box(
                argv[base + i + 1], argv[base + i + 2], argv[base + i + 3]
            )
            shape.radius = None
            bybox = True
            i += 3
        else:
            raise CommandError(SYNTAX)
        i += 1

    if storekey is not None and (withdist or withhash or withcoords):
        what = "GEOSEARCHSTORE" if flags & _SEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError(
            f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )
    name = argv[0].decode("utf-8", "replace")
    if flags & _SEARCH and not (frommember or fromloc):
        raise CommandError(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")
    if flags & _SEARCH and not (byradius or bybox):
        raise CommandError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if any_ and not count:
        raise CommandError("ERR the ANY argument requires COUNT argument")

    if zs is None:
        if storekey is not None:
            if db.delete(storekey):
                db.modified(storekey, b"del", NOTIFY_GENERIC)
            return 0
        return []

    if count and sort == _SORT_NONE and not any_:
        sort = _SORT_ASC
    step, cells = geohash.search_areas(shape)
    found = _points_in_cells(zs, shape, step, cells, count if any_ else 0)
    if not found and storekey is None:
        return []
    if sort == _SORT_ASC:
        found.sort(key=_dist)
    elif sort == _SORT_DESC:
        found.sort(key=_dist, reverse=True)
    if count and count < len(found):
        del found[count:]
    conversion = shape.conversion

    if storekey is None:
        out = []
        plain = not (withdist or withhash or withcoords)
        for d, score, member, lon, lat in found:
            if plain:
                out.append(member)
                continue
            item = [member]
            if withdist:
                item.append(b"%.4f" % (d / conversion))
            if withhash:  # (long long)score; out of range gives x86's "integer indefinite"
                item.append(int(score) if -_I64 <= score < _I64 else -_I64)
            if withcoords:
                item.append([_coord(c, lon), _coord(c, lat)])
            out.append(item)
        return out

    if found:
        pairs = [(member, d / conversion if storedist else score)
                 for d, score, member, _, _ in found]
        values = c.server.config.values
        result = ZSet.from_pairs(pairs, values["zset-max-listpack-entries"],
                                 values["zset-max-listpack-value"])
        db.store(storekey, result)
        event = b"geosearchstore" if flags & _SEARCH else b"georadiusstore"
        db.modified(storekey, event, NOTIFY_ZSET, dirty=len(found))
    elif db.delete(storekey):
        db.modified(storekey, b"del", NOTIFY_GENERIC)
    return len(found)


def _dist(p):
    return p[0]


_I64 = 2.0**63


def _georadius_keys(argv: list) -> list[int]:
    """Key 1 plus the STORE/STOREDIST key (georadiusGetKeys: the last one wins)."""
    stored = -1
    i = 5
    n = len(argv)
    while i < n:
        arg = argv[i].lower()
        if (arg == b"store" or arg == b"storedist") and i + 1 < n:
            stored = i + 1
            i += 1
        i += 1
    return [1] if stored == -1 else [1, stored]


_RADIUS_COMPLEXITY = ("O(N+log(M)) where N is the number of elements inside the bounding box of "
                      "the circular area delimited by center and radius and M is the number of "
                      "items inside the index.")
_SEARCH_COMPLEXITY = ("O(N+log(M)) where N is the number of elements in the grid-aligned "
                      "bounding box area around the shape provided as the filter and M is the "
                      "number of items inside the shape")


@command("georadius", -6, "write denyoom", keys=(1, 1, 1), group="geo", since="3.2.0",
         getkeys=_georadius_keys, complexity=_RADIUS_COMPLEXITY)
def georadius(c, argv):
    """Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point"""
    return georadius_generic(c, argv, 1, _COORDS)


@command("georadiusbymember", -5, "write denyoom", keys=(1, 1, 1), group="geo", since="3.2.0",
         getkeys=_georadius_keys, complexity=_RADIUS_COMPLEXITY)
def georadiusbymember(c, argv):
    """Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member"""
    return georadius_generic(c, argv, 1, _MEMBER)


@command("georadius_ro", -6, "readonly", keys=(1, 1, 1), group="geo", since="3.2.10",
         complexity=_RADIUS_COMPLEXITY)
def georadius_ro(c, argv):
    """A read-only variant for GEORADIUS"""
    return georadius_generic(c, argv, 1, _COORDS | _NOSTORE)


@command("georadiusbymember_ro", -5, "readonly", keys=(1, 1, 1), group="geo", since="3.2.10",
         complexity=_RADIUS_COMPLEXITY)
def georadiusbymember_ro(c, argv):
    """A read-only variant for GEORADIUSBYMEMBER"""
    return georadius_generic(c, argv, 1, _MEMBER | _NOSTORE)


@command("geosearch", -7, "readonly", keys=(1, 1, 1), group="geo", since="6.2.0",
         complexity=_SEARCH_COMPLEXITY)
def geosearch(c, argv):
    """Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."""
    return georadius_generic(c, argv, 1, _SEARCH)


@command("geosearchstore", -8, "write denyoom", keys=(1, 2, 1), group="geo", since="6.2.0",
         complexity=_SEARCH_COMPLEXITY)
def geosearchstore(c, argv):
    """Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key."""
    return georadius_generic(c, argv, 2, _SEARCH | _SEARCHSTORE)
