"""Distances on the sphere and bounding boxes around a point.

Everything here is plain Python on floats (degrees in, kilometres out) so that the SQLite and the
PostgreSQL paths of `nearest` compute exactly the same distances for the same rows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

# Mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180.0  # ≈ 111.195 km
# Boxes are widened by ~1 cm so that floating-point rounding never leaves a point of the disc outside.
BOX_PADDING_DEG = 1e-7

_radians = math.radians
_sin = math.sin
_cos = math.cos
_asin = math.asin
_sqrt = math.sqrt


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees, in kilometres."""
    phi1 = _radians(lat1)
    phi2 = _radians(lat2)
    dphi = phi2 - phi1
    dlmb = _radians(lon2 - lon1)
    a = _sin(dphi * 0.5) ** 2 + _cos(phi1) * _cos(phi2) * _sin(dlmb * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_KM * _asin(_sqrt(min(1.0, a)))


class Point(NamedTuple):
    latitude: float
    longitude: float


class BBox(NamedTuple):
    """An axis-aligned box in degrees; never crosses the antimeridian (see `bboxes_for_radius`)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


def lon_delta_deg(lat: float, radius_km: float) -> float | None:
    """Half-width in longitude of the smallest box holding the disc of `radius_km` around a point at `lat`.

    Uses the tangent points of the circle (asin(sin(r/R)/cos(lat))), not `r / cos(lat)` at the centre: the
    circle is widest on its pole-ward side, so scaling by the centre's latitude would cut off points.
    Returns None when the disc reaches a pole (then every longitude is inside).
    """
    angular = radius_km / EARTH_RADIUS_KM
    if angular >= math.pi / 2:
        return None
    lat_r = _radians(lat)
    if abs(lat_r) + angular >= math.pi / 2:
        return None
    ratio = _sin(angular) / _cos(lat_r)
    if ratio >= 1.0:
        return None
    return math.degrees(_asin(ratio))


def bbox_for_radius(lat: float, lon: float, radius_km: float) -> BBox:
    """The box (possibly crossing ±180°, then min_lon > 180 or max_lon < -180 is folded) around a disc.

    Prefer `bboxes_for_radius`, which splits a box crossing the antimeridian into two valid boxes.
    """
    dlat = radius_km / KM_PER_DEGREE_LAT + BOX_PADDING_DEG
    min_lat = max(-90.0, lat - dlat)
    max_lat = min(90.0, lat + dlat)
    dlon = lon_delta_deg(lat, radius_km)
    if dlon is None:
        return BBox(min_lat, max_lat, -180.0, 180.0)
    dlon += BOX_PADDING_DEG
    return BBox(min_lat, max_lat, lon - dlon, lon + dlon)


def bboxes_for_radius(lat: float, lon: float, radius_km: float) -> list[BBox]:
    """One or two boxes (two when the disc crosses the antimeridian) that together hold the whole disc.

    Every point closer than `radius_km` to (lat, lon) lies in one of the boxes: the disc is *inscribed*
    in their union, which is what lets `nearest` stop growing its search box.
    """
    box = bbox_for_radius(lat, lon, radius_km)
    if box.min_lon >= -180.0 and box.max_lon <= 180.0:
        return [box]
    if box.max_lon - box.min_lon >= 360.0:
        return [BBox(box.min_lat, box.max_lat, -180.0, 180.0)]
    if box.min_lon < -180.0:
        return [
            BBox(box.min_lat, box.max_lat, -180.0, box.max_lon),
            BBox(box.min_lat, box.max_lat, box.min_lon + 360.0, 180.0),
        ]
    return [
        BBox(box.min_lat, box.max_lat, box.min_lon, 180.0),
        BBox(box.min_lat, box.max_lat, -180.0, box.max_lon - 360.0),
    ]


def degree_reach(lat: float, radius_km: float) -> float:
    """Largest plain Euclidean distance in degrees, sqrt(Δlat² + Δlon²), of a point within `radius_km`.

    A point closer than `radius_km` lies in the box of `bbox_for_radius`, so its (Δlat, Δlon) is bounded
    by the box's half-sides. Infinite when the disc reaches a pole or the antimeridian matters.
    """
    dlon = lon_delta_deg(lat, radius_km)
    if dlon is None:
        return math.inf
    dlat = radius_km / KM_PER_DEGREE_LAT
    return math.hypot(dlat, dlon)


def radius_reached_by_degrees(lat: float, degrees: float, *, upper_km: float) -> float:
    """Largest radius r ≤ upper_km (km) such that every point within r is within `degrees` (Euclidean, in
    degrees) of the centre: the inverse of `degree_reach`, found by bisection (it is monotonic).

    Used on PostgreSQL, whose GiST KNN orders candidates by that degree distance: once all rows closer than
    `degrees` have been read, every row closer than the returned radius (in km) has been read.
    """
    if degrees <= 0.0:
        return 0.0
    if degree_reach(lat, upper_km) < degrees:
        return upper_km
    lo, hi = 0.0, min(upper_km, degrees * KM_PER_DEGREE_LAT)
    for _ in range(40):
        mid = (lo + hi) * 0.5
        if degree_reach(lat, mid) < degrees:
            lo = mid
        else:
            hi = mid
    return lo


def valid_latitude(value: float) -> bool:
    return -90.0 <= value <= 90.0 and not math.isnan(value)


def valid_longitude(value: float) -> bool:
    return -180.0 <= value <= 180.0 and not math.isnan(value)
