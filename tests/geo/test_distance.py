import math
import random

import pytest

from mednum.geo.distance import (
    bbox_for_radius,
    bboxes_for_radius,
    degree_reach,
    haversine_km,
    radius_reached_by_degrees,
)

from .helpers import destination


def test_haversine_known_distances():
    paris, lyon = (48.8566, 2.3522), (45.7640, 4.8357)
    assert haversine_km(*paris, *lyon) == pytest.approx(392.0, abs=2.0)
    assert haversine_km(*paris, *paris) == 0.0
    # One degree of latitude ≈ 111.2 km everywhere; one degree of longitude shrinks with cos(latitude).
    assert haversine_km(45, 5, 46, 5) == pytest.approx(111.19, abs=0.05)
    assert haversine_km(60, 5, 60, 6) == pytest.approx(111.19 * math.cos(math.radians(60)), abs=0.1)
    # Across the antimeridian (Wallis-et-Futuna side of the world).
    assert haversine_km(-14.0, 179.95, -14.0, -179.95) == pytest.approx(10.8, abs=0.1)


@pytest.mark.parametrize("lat", [0.0, 16.2, 43.3, 48.85, 60.0, 75.0, -21.1, -49.3])
@pytest.mark.parametrize("radius", [0.05, 1.0, 10.0, 100.0, 500.0])
def test_disc_is_inscribed_in_the_box(lat, radius):
    """Every point of the circle (and thus of the disc) lies in the box: the search can trust it."""
    lon = 2.0
    boxes = bboxes_for_radius(lat, lon, radius)
    for step in range(360):
        bearing = math.radians(step)
        plat, plon = destination(lat, lon, bearing, radius * 0.999999)
        assert any(b.contains(plat, plon) for b in boxes), (step, plat, plon)


def test_box_is_not_much_larger_than_needed():
    box = bbox_for_radius(45.0, 5.0, 10.0)
    # Half-sides ≈ 10 km: 0.0899° of latitude, 0.127° of longitude at 45°N.
    assert box.max_lat - 45.0 == pytest.approx(10 / 111.195, rel=1e-3)
    assert box.max_lon - 5.0 == pytest.approx(10 / (111.195 * math.cos(math.radians(45))), rel=1e-2)


def test_longitude_half_width_uses_tangent_points_not_the_centre():
    # At high latitude the circle is widest pole-ward: r/cos(lat) at the centre would be too narrow.
    lat, radius = 70.0, 300.0
    box = bbox_for_radius(lat, 0.0, radius)
    naive = radius / (111.195 * math.cos(math.radians(lat)))
    assert box.max_lon > naive


def test_pole_and_antimeridian():
    assert bboxes_for_radius(89.5, 10.0, 100.0) == [bbox_for_radius(89.5, 10.0, 100.0)]
    assert bbox_for_radius(89.5, 10.0, 100.0).min_lon == -180.0
    boxes = bboxes_for_radius(-14.0, 179.95, 20.0)
    assert len(boxes) == 2
    assert all(-180.0 <= b.min_lon < b.max_lon <= 180.0 for b in boxes)
    assert any(b.contains(-14.0, -179.95) for b in boxes)


def test_radius_reached_by_degrees_inverts_degree_reach():
    rng = random.Random(3)
    for _ in range(200):
        lat = rng.uniform(-60, 60)
        degrees = rng.uniform(0.001, 2.0)
        r = radius_reached_by_degrees(lat, degrees, upper_km=1000)
        assert degree_reach(lat, r) <= degrees
        assert degree_reach(lat, r * 1.001 + 1e-6) >= degrees * 0.999
    assert radius_reached_by_degrees(45, 50.0, upper_km=100) == 100
    assert radius_reached_by_degrees(45, 0.0, upper_km=100) == 0.0
