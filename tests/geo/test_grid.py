"""Server-side map aggregation: Web Mercator pixels, grid clusters, counts per territory."""

import pytest

from mednum.geo import grid
from mednum.geo.distance import BBox

from .helpers import bulk, lieu, random_lieux


def test_mercator_pixels():
    assert grid.x_px(-180, 0) == 0 and grid.x_px(180, 0) == 256
    assert grid.y_px(0, 0) == pytest.approx(128)
    assert grid.lat_of_y(grid.y_px(45.76, 13), 13) == pytest.approx(45.76)
    width, height = grid.bbox_pixels(BBox(45.70, 45.80, 4.75, 4.95), 13)
    assert width == pytest.approx(0.2 / 360 * 256 * 2**13)
    assert height > width * 0.1 / 0.2  # a degree of latitude is taller than one of longitude at 45°N


@pytest.mark.django_db
def test_sql_grouping_matches_exact_python_grouping():
    """The portable SQL path (latitude bands merged into Mercator rows) equals exact per-point cells."""
    bulk(random_lieux(800, centre=(45.76, 4.84), spread_km=40, seed=9))
    box = BBox(45.3, 46.2, 4.2, 5.5)
    for zoom in (9, 10, 11, 12):
        sql_clusters, sql_points = grid.grid_clusters(box, zoom, 64)
        py_clusters, py_points = grid.grid_clusters(box, zoom, 64, accept=lambda extras: True, accept_columns=("l.id",))
        assert sql_points == py_points
        assert [c[2] for c in sql_clusters] == [c[2] for c in py_clusters]
        for a, b in zip(sql_clusters, py_clusters):
            assert a[0] == pytest.approx(b[0]) and a[1] == pytest.approx(b[1])


@pytest.mark.django_db
def test_clusters_do_not_depend_on_the_exact_view():
    """Cells are anchored on the world: panning the map slightly keeps the same clusters."""
    bulk(random_lieux(300, centre=(45.76, 4.84), spread_km=15, seed=2))
    a = grid.grid_clusters(BBox(45.5, 46.0, 4.5, 5.2), 10, 64)
    b = grid.grid_clusters(BBox(45.5001, 46.0002, 4.5003, 5.2001), 10, 64)
    assert a == b


@pytest.mark.django_db
def test_single_lieu_in_a_cell_is_a_point():
    x = lieu(45.0, 5.0, typologie=["MJC"])
    lieu(45.5, 5.5)
    lieu(45.5001, 5.5001)
    clusters, points = grid.grid_clusters(BBox(44.5, 46.0, 4.5, 6.0), 10, 64)
    assert points == [(x.id, 45.0, 5.0, "MJC")]
    assert [c[2] for c in clusters] == [2]
