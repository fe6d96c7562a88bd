"""Geohash as Redis computes it (src/geohash.c, src/geohash_helper.c of Redis 7.0).

Scores are 52-bit integers: 26 bits of latitude and 26 of longitude interleaved, over Redis's
Web Mercator limits (latitude +-85.05112878). Searches look at the 3x3 boxes around the centre
at a step chosen from the radius, then filter by exact distance, so the box arithmetic below is
a faithful port: the same boxes give the same candidates, and with COUNT ANY the same answer.
The floating point steps are the same IEEE operations in the same order, so results match.
"""

from __future__ import annotations

from math import asin, cos, nan, pi, sin, sqrt

GEO_STEP_MAX = 26
GEO_LAT_MIN = -85.05112878
GEO_LAT_MAX = 85.05112878
GEO_LONG_MIN = -180.0
GEO_LONG_MAX = 180.0

D_R = pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37

_M64 = (1 << 64) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA

LONG_RANGE = (GEO_LONG_MIN, GEO_LONG_MAX)
LAT_RANGE = (GEO_LAT_MIN, GEO_LAT_MAX)
STANDARD_LAT_RANGE = (-90.0, 90.0)  # GEOHASH strings use the usual geohash ranges


def deg_rad(ang: float) -> float:
    return ang * D_R


def rad_deg(ang: float) -> float:
    return ang / D_R


# -- bits ------------------------------------------------------------------------------------


def interleave64(xlo: int, ylo: int) -> int:
    """Bits of x in the even positions, bits of y in the odd ones (x, y < 2**32)."""
    x, y = xlo, ylo
    x = (x | (x << 16)) & 0x0000FFFF0000FFFF
    y = (y | (y << 16)) & 0x0000FFFF0000FFFF
    x = (x | (x << 8)) & 0x00FF00FF00FF00FF
    y = (y | (y << 8)) & 0x00FF00FF00FF00FF
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y << 4)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x << 2)) & 0x3333333333333333
    y = (y | (y << 2)) & 0x3333333333333333
    x = (x | (x << 1)) & 0x5555555555555555
    y = (y | (y << 1)) & 0x5555555555555555
    return (x | (y << 1)) & _M64


def deinterleave64(interleaved: int) -> int:
    """Inverse of interleave64: x in the low 32 bits, y in the high 32 bits."""
    x = interleaved
    y = interleaved >> 1
    x = (x | (x >> 0)) & 0x5555555555555555
    y = (y | (y >> 0)) & 0x5555555555555555
    x = (x | (x >> 1)) & 0x3333333333333333
    y = (y | (y >> 1)) & 0x3333333333333333
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y >> 2)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FF
    y = (y | (y >> 4)) & 0x00FF00FF00FF00FF
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFF
    y = (y | (y >> 8)) & 0x0000FFFF0000FFFF
    x = (x | (x >> 16)) & 0x00000000FFFFFFFF
    y = (y | (y >> 16)) & 0x00000000FFFFFFFF
    return x | (y << 32)


def encode(lon_range, lat_range, longitude: float, latitude: float, step: int):
    """geohashEncode: the ``step``*2 bits of the cell holding the point (None if invalid)."""
    if step > 32 or step == 0:
        return None
    if not (GEO_LONG_MIN <= longitude <= GEO_LONG_MAX and GEO_LAT_MIN <= latitude <= GEO_LAT_MAX):
        return None
    lat_min, lat_max = lat_range
    lon_min, lon_max = lon_range
    if latitude < lat_min or latitude > lat_max or longitude < lon_min or longitude > lon_max:
        return None
    lat_offset = (latitude - lat_min) / (lat_max - lat_min)
    long_offset = (longitude - lon_min) / (lon_max - lon_min)
    lat_offset *= 1 << step
    long_offset *= 1 << step
    return interleave64(int(lat_offset) & 0xFFFFFFFF, int(long_offset) & 0xFFFFFFFF)


def encode_wgs84(longitude: float, latitude: float, step: int = GEO_STEP_MAX):
    return encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)


def align52(bits: int, step: int) -> int:
    return (bits << (52 - step * 2)) & _M64


def decode(lon_range, lat_range, bits: int, step: int):
    """geohashDecode: the cell as (lon_min, lon_max, lat_min, lat_max); None for the zero hash."""
    if bits == 0 and step == 0:
        return None
    sep = deinterleave64(bits)
    lat_scale = lat_range[1] - lat_range[0]
    long_scale = lon_range[1] - lon_range[0]
    ilato = sep & 0xFFFFFFFF
    ilono = (sep >> 32) & 0xFFFFFFFF
    div = float(1 << step)
    return (
        lon_range[0] + (ilono / div) * long_scale,
        lon_range[0] + (((ilono + 1) & 0xFFFFFFFF) / div) * long_scale,
        lat_range[0] + (ilato / div) * lat_scale,
        lat_range[0] + (((ilato + 1) & 0xFFFFFFFF) / div) * lat_scale,
    )


def score_to_bits(score: float) -> int:
    """C's ``(uint64_t)score`` as x86-64 code computes it (scores are not always geohashes)."""
    if 0 <= score < 9223372036854775808.0:
        return int(score)
    if score >= 9223372036854775808.0:
        rest = score - 9223372036854775808.0
        low = int(rest) if rest < 9223372036854775808.0 else 1 << 63
        return (low ^ (1 << 63)) & _M64
    if score >= -9223372036854775808.0:  # within int64: two's complement
        return int(score) & _M64
    return 1 << 63  # out of range: x86's "integer indefinite"


def decode_score(score: float) -> tuple[float, float]:
    """decodeGeohash: the (longitude, latitude) a zset score stands for (cell centre)."""
    area = decode(LONG_RANGE, LAT_RANGE, score_to_bits(score), GEO_STEP_MAX)
    lon = (area[0] + area[1]) / 2
    lat = (area[2] + area[3]) / 2
    if lon > GEO_LONG_MAX:
        lon = GEO_LONG_MAX
    if lon < GEO_LONG_MIN:
        lon = GEO_LONG_MIN
    if lat > GEO_LAT_MAX:
        lat = GEO_LAT_MAX
    if lat < GEO_LAT_MIN:
        lat = GEO_LAT_MIN
    return lon, lat


def _move_x(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & _ODD
    y = bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _M64
    else:
        x = x | zz
        x = (x - (zz + 1)) & _M64
    x &= _ODD >> (64 - step * 2)
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & _ODD
    y = bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _M64
    else:
        y = y | zz
        y = (y - (zz + 1)) & _M64
    y &= _EVEN >> (64 - step * 2)
    return x | y


def neighbors(bits: int, step: int) -> dict:
    """The eight cells around ``bits`` (geohashNeighbors), by compass direction."""

    def mv(dx, dy):
        return _move_y(_move_x(bits, step, dx), step, dy)

    return {
        "north": mv(0, 1),
        "south": mv(0, -1),
        "east": mv(1, 0),
        "west": mv(-1, 0),
        "north_east": mv(1, 1),
        "north_west": mv(-1, 1),
        "south_east": mv(1, -1),
        "south_west": mv(-1, -1),
    }


# -- distances -------------------------------------------------------------------------------


def lat_distance(lat1d: float, lat2d: float) -> float:
    return EARTH_RADIUS_IN_METERS * abs(deg_rad(lat2d) - deg_rad(lat1d))


def distance(lon1d: float, lat1d: float, lon2d: float, lat2d: float) -> float:
    """Haversine great-circle distance in meters (geohashGetDistance)."""
    lon1r = deg_rad(lon1d)
    lon2r = deg_rad(lon2d)
    v = sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1d, lat2d)
    lat1r = deg_rad(lat1d)
    lat2r = deg_rad(lat2d)
    u = sin((lat2r - lat1r) / 2)
    a = u * u + cos(lat1r) * cos(lat2r) * v * v
    try:
        return 2.0 * EARTH_RADIUS_IN_METERS * asin(sqrt(a))
    except ValueError:  # C's asin gives NaN where Python raises (a rounded above 1)
        return nan


def _ccos(x: float) -> float:
    """cos as C's libm: NaN for an infinite argument instead of an exception."""
    try:
        return cos(x)
    except ValueError:
        return nan


def distance_if_in_radius(x1, y1, x2, y2, radius):
    d = distance(x1, y1, x2, y2)
    return None if d > radius else d


def distance_if_in_rectangle(width_m, height_m, x1, y1, x2, y2):
    """Distance from the centre (x1, y1) when (x2, y2) is inside the box, else None."""
    if lat_distance(y2, y1) > height_m / 2:
        return None
    if distance(x2, y2, x1, y2) > width_m / 2:
        return None
    return distance(x1, y1, x2, y2)


# -- search areas ----------------------------------------------------------------------------


def estimate_steps_by_radius(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2  # make sure the range is included in most of the base cases
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


class Shape:
    """A search area: centre, circle (radius) or box (width, height), in ``conversion`` units."""

    __slots__ = ("lon", "lat", "radius", "width", "height", "conversion")

    def __init__(self, lon=0.0, lat=0.0, radius=None, width=0.0, height=0.0, conversion=1.0):
        self.lon = lon
        self.lat = lat
        self.radius = radius  # None for a box
        self.width = width
        self.height = height
        self.conversion = conversion

    def bounding_box(self):
        """(min_lon, min_lat, max_lon, max_lat) of the area (geohashBoundingBox)."""
        lon, lat = self.lon, self.lat
        if self.radius is not None:
            height = self.conversion * self.radius
            width = self.conversion * self.radius
        else:
            height = self.conversion * (self.height / 2)
            width = self.conversion * (self.width / 2)
        lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS)
        # (cos of a finite double is never exactly 0, so these divisions cannot raise)
        long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / _ccos(deg_rad(lat + lat_delta)))
        long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS
                                    / _ccos(deg_rad(lat - lat_delta)))
        if lat < 0:
            return (lon - long_delta_bottom, lat - lat_delta, lon + long_delta_bottom,
                    lat + lat_delta)
        return lon - long_delta_top, lat - lat_delta, lon + long_delta_top, lat + lat_delta

    def contains(self, lon: float, lat: float):
        """Distance in meters from the centre when the point is inside, else None."""
        if self.radius is not None:
            return distance_if_in_radius(self.lon, self.lat, lon, lat,
                                         self.radius * self.conversion)
        return distance_if_in_rectangle(self.width * self.conversion,
                                        self.height * self.conversion,
                                        self.lon, self.lat, lon, lat)


def search_areas(shape: Shape) -> tuple[int, list]:
    """geohashCalculateAreasByShapeWGS84: (step, [centre, N, S, E, W, NE, NW, SE, SW]);
    a cell that cannot hold results is None."""
    min_lon, min_lat, max_lon, max_lat = shape.bounding_box()
    lon, lat = shape.lon, shape.lat
    if shape.radius is not None:
        radius_meters = shape.radius
    else:
        radius_meters = sqrt((shape.width / 2) * (shape.width / 2)
                             + (shape.height / 2) * (shape.height / 2))
    radius_meters *= shape.conversion

    steps = estimate_steps_by_radius(radius_meters, lat)
    bits = encode(LONG_RANGE, LAT_RANGE, lon, lat, steps)
    nb = neighbors(bits, steps)
    area = decode(LONG_RANGE, LAT_RANGE, bits, steps)

    # Is the step small enough at the limits of the covered area? Near a cell edge one of the
    # N/S/E/W cells may not reach far enough: then use bigger cells.
    north = decode(LONG_RANGE, LAT_RANGE, nb["north"], steps)
    south = decode(LONG_RANGE, LAT_RANGE, nb["south"], steps)
    east = decode(LONG_RANGE, LAT_RANGE, nb["east"], steps)
    west = decode(LONG_RANGE, LAT_RANGE, nb["west"], steps)
    decrease = (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon
                or west[0] > min_lon)
    if steps > 1 and decrease:
        steps -= 1
        bits = encode(LONG_RANGE, LAT_RANGE, lon, lat, steps)
        nb = neighbors(bits, steps)
        area = decode(LONG_RANGE, LAT_RANGE, bits, steps)

    cells = dict(nb)
    if steps >= 2:  # drop the cells the area cannot reach
        if area[2] < min_lat:
            cells["south"] = cells["south_west"] = cells["south_east"] = None
        if area[3] > max_lat:
            cells["north"] = cells["north_east"] = cells["north_west"] = None
        if area[0] < min_lon:
            cells["west"] = cells["south_west"] = cells["north_west"] = None
        if area[1] > max_lon:
            cells["east"] = cells["south_east"] = cells["north_east"] = None
    order = [bits] + [cells[k] for k in ("north", "south", "east", "west", "north_east",
                                         "north_west", "south_east", "south_west")]
    return steps, order


# -- GEOHASH strings -------------------------------------------------------------------------

_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def geohash_string(score: float) -> bytes:
    """The 11-character standard geohash GEOHASH replies (re-encoded over -90..90)."""
    lon, lat = decode_score(score)
    bits = encode(LONG_RANGE, STANDARD_LAT_RANGE, lon, lat, 26)
    if bits is None:  # cannot happen for decoded points; keep Redis's shape anyway
        bits = 0
    out = bytearray(11)
    for i in range(11):
        idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out[i] = _ALPHABET[idx]
    return bytes(out)
