"""Server-side map aggregation: Web Mercator pixels, grid clusters, counts per territory."""

import math
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mednum.geo import grid
from mednum.geo.distance import BBox
from mednum.lieux import search

from .helpers import bulk, lieu, postgres_only_for, random_lieux, sqlite_only_for


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
        filtered = grid.grid_clusters(box, zoom, 64, "l.id > %s", [0])  # the SQL path without the R*Tree
        assert filtered == (py_clusters, py_points)  # centres too: the same integer sums, in any order
        assert sql_points == py_points
        assert [c[2] for c in sql_clusters] == [c[2] for c in py_clusters]
        for a, b in zip(sql_clusters, py_clusters):  # SQLite's R*Tree holds 32-bit positions
            assert a[0] == pytest.approx(b[0]) and a[1] == pytest.approx(b[1])


@pytest.mark.django_db
def test_cluster_centre_is_the_mean_of_whole_micro_degrees():
    """Three lieux of La Réunion in one cell (negative latitudes, seven decimals): the centre is the mean
    of their positions in whole micro-degrees, the same through the SQL and the Python paths; a mean of
    floats would be ~1e-6° off and depend on the order the rows are read in."""
    positions = [(-21.1234567, 55.4512341), (-21.1234561, 55.4512347), (-21.1234569, 55.4512349)]
    for lat, lon in positions:
        lieu(lat, lon)
    box = BBox(-21.5, -20.8, 55.2, 55.9)
    expected_lat = sum(grid.micro(lat) for lat, _ in positions) / 3 / grid.MICRO
    expected_lon = sum(grid.micro(lon) for _, lon in positions) / 3 / grid.MICRO
    assert [grid.micro(lat) for lat, _ in positions] == [-21123456, -21123455, -21123456]
    assert expected_lat != sum(lat for lat, _ in positions) / 3
    through_sql = grid.grid_clusters(box, 10, 64, "l.id > %s", [0])
    through_python = grid.grid_clusters(box, 10, 64, accept=lambda extras: True, accept_columns=("l.id",))
    assert through_sql == through_python == ([(expected_lat, expected_lon, 3)], [])


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


def _counts_query(where_sql, where_params):
    """The SQL of territory_counts with these filters, as the database received it."""
    with CaptureQueriesContext(connection) as captured:
        grid.territory_counts("regions", where_sql, where_params)
    (query,) = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]
    return query


def _filters():
    return search.filter_sql({"services": ("Aide aux démarches administratives",), "frais_a_charge": ("Gratuit",),
                              "itinerance": ("Fixe",)})


@sqlite_only_for("query plan")
@pytest.mark.django_db
def test_filtered_counts_per_territory_read_the_map_index_alone_sqlite():
    """With filters on the standard's lists, the counts never open the lieux table: only the map index."""
    bulk(random_lieux(50, seed=4))
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, rootpage FROM sqlite_master WHERE name IN ('lieux_lieu', 'lieu_carte_commune_idx')")
        roots = dict(cursor.fetchall())
        cursor.execute("EXPLAIN " + _counts_query(*_filters()))
        program = cursor.fetchall()  # (addr, opcode, p1, p2, …)
    cursors = {row[3]: row[2] for row in program if row[1] == "OpenRead"}  # root page → cursor
    assert roots["lieu_carte_commune_idx"] in cursors
    # SQLite may open the table for a deferred seek, done only if a column of the table is read: none is.
    table_cursor = cursors.get(roots["lieux_lieu"])
    assert not [row for row in program if row[1] == "Column" and row[2] == table_cursor]


@postgres_only_for("index definition")
@pytest.mark.django_db
def test_the_map_index_holds_every_column_of_the_filtered_counts_postgresql():
    """Every column the filtered counts read is in the map index (its keys or its condition), so that
    PostgreSQL can answer them with an index-only scan. Whether it does depends on the table's
    statistics and visibility map, which the other tests' open transactions affect: not asserted."""
    query = _counts_query(*_filters())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef('lieu_carte_commune_idx'::regclass)")
        (definition,) = cursor.fetchone()
    columns = set(re.findall(r"\bl\.(\w+)", query))
    assert {"commune_id", "code_insee", "services_mask", "frais_mask", "itinerance_mask"} <= columns, query
    assert [column for column in columns if not re.search(rf"\b{column}\b", definition)] == [], definition


def _overlapping_pairs(clusters, points, zoom):
    """Pairs of circles (clusters and lone lieux) that would overlap on the map at its smallest scale."""
    circles = [(grid.x_px(lon, zoom), grid.y_px(lat, zoom), grid.rayon_grappe_px(n)) for lat, lon, n in clusters]
    circles += [(grid.x_px(lon, zoom), grid.y_px(lat, zoom), grid.RAYON_LIEU_PX) for _id, lat, lon, _t in points]
    pairs = []
    for i, (x, y, r) in enumerate(circles):
        for ox, oy, orr in circles[i + 1:]:
            if math.hypot(ox - x, oy - y) * grid.ECHELLE_MIN < r + orr + 2 * grid.CONTOUR_PX:
                pairs.append(((x, y, r), (ox, oy, orr)))
    return pairs


def test_cluster_radius_follows_the_maps_stops():
    assert grid.rayon_grappe_px(1) == 12 and grid.rayon_grappe_px(100) == 22 and grid.rayon_grappe_px(1600) == 34
    assert grid.rayon_grappe_px(4) == pytest.approx(12 + 10 * (2 - 1) / 9)
    assert grid.rayon_grappe_px(10**6) == 34


def test_the_map_script_draws_the_circles_the_server_keeps_apart():
    """The server merges circles with the radii carte.js draws: the two must say the same."""
    script = (Path(__file__).resolve().parents[2] / "mednum" / "static" / "lieux" / "carte.js").read_text()
    stops = ", ".join(f"{racine:g}, {rayon:g}" for racine, rayon in grid.RAYONS_GRAPPE_PX)
    assert f'"circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "nombre"]], {stops}]' in script
    assert f'"circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 5, 14, {grid.RAYON_LIEU_PX:g}]' in script
    assert script.count(f'"circle-stroke-width": {grid.CONTOUR_PX:g}') == 2


def test_overlapping_circles_are_merged_into_one_cluster():
    zoom = 11
    near = 12 / (256 * 2**zoom) * 360  # 12 pixels of longitude at this zoom
    clusters = [(45.0, 5.0, 30), (45.0, 5.0 + near, 10), (45.0, 5.5, 4)]
    points = [(7, 45.0, 5.0 - near, "BIB"), (8, 45.2, 5.2, "MJC"), (9, 45.2, 5.2 + near / 2, "")]
    merged, lone = grid.merge_overlapping(clusters, points, zoom)
    # 30 + 10 + the lone lieu beside them in one cluster, at their weighted mean; the two lone lieux close
    # together in a cluster of 2; the cluster of 4 far away unchanged.
    assert sorted(n for _lat, _lon, n in merged) == [2, 4, 41]
    big = next(c for c in merged if c[2] == 41)
    assert big[0] == pytest.approx(45.0) and big[1] == pytest.approx((30 * 5.0 + 10 * (5.0 + near) + 5.0 - near) / 41)
    assert lone == []
    assert sum(n for *_c, n in merged) == 47
    assert not _overlapping_pairs(merged, lone, zoom)


def test_circles_apart_stay_as_they_are():
    zoom = 10
    clusters = [(45.0, 5.0, 3), (45.0, 5.2, 50)]
    points = [(3, 44.8, 5.0, "BIB")]
    assert grid.merge_overlapping(clusters, points, zoom) == (sorted(clusters), points)
    assert grid.merge_overlapping([], points, zoom) == ([], points)


@pytest.mark.django_db
def test_merged_clusters_never_overlap_and_keep_every_lieu():
    """Real grid clusters of 1,500 lieux around two towns: once merged, no two circles overlap at any
    zoom level of the clusters, and every lieu is still counted once."""
    bulk(random_lieux(1000, centre=(45.76, 4.84), spread_km=12, seed=5)
         + random_lieux(500, centre=(45.44, 4.39), spread_km=6, seed=6))
    box = BBox(45.0, 46.3, 3.8, 5.6)
    for zoom in (9, 10, 11, 12):
        clusters, points = grid.grid_clusters(box, zoom, 64)
        assert _overlapping_pairs(clusters, points, zoom), "the grid alone had no overlap to merge"
        merged, lone = grid.merge_overlapping(clusters, points, zoom)
        assert not _overlapping_pairs(merged, lone, zoom)
        assert sum(n for *_c, n in merged) + len(lone) == 1500
        assert set(lone) <= set(points)
        # The input's order does not matter.
        assert grid.merge_overlapping(list(reversed(clusters)), list(reversed(points)), zoom) == (merged, lone)
        # What /api/v1/carte sends is merged so.
        carte = search.carte(search.CarteParams(box, zoom))
        assert carte["mode"] == "grappes" and carte["nombre"] == 1500
        assert not _overlapping_pairs([tuple(g) for g in carte["grappes"]], [tuple(p) for p in carte["points"]], zoom)


def test_territories_apart_or_without_lieux_stay_as_they_are():
    zoom = 7
    territoires = [["13", "Bouches-du-Rhône", 43.5, 5.1, 7], ["69", "Rhône", 45.9, 4.6, 12], ["75", "Paris", 48.86, 2.35, 0],
                   ["92", "Hauts-de-Seine", 48.85, 2.24, 0]]
    assert grid.merge_overlapping_territories(territoires, zoom) == territoires


def test_overlapping_territories_are_merged_weighted_by_their_counts():
    zoom = 7
    territoires = [["94", "Val-de-Marne", 48.78, 2.47, 1000], ["75", "Paris", 48.86, 2.35, 3000],
                   ["93", "Seine-Saint-Denis", 48.91, 2.48, 1000], ["69", "Rhône", 45.9, 4.6, 12]]
    merged = grid.merge_overlapping_territories(territoires, zoom)
    assert merged[0] == ["69", "Rhône", 45.9, 4.6, 12]
    code, nom, lat, lon, nombre = merged[1]
    assert (code, nom, nombre) == ("75,93,94", "Paris, Seine-Saint-Denis, Val-de-Marne", 5000)
    assert lat == pytest.approx((48.78 * 1000 + 48.86 * 3000 + 48.91 * 1000) / 5000)
    assert lon == pytest.approx((2.47 * 1000 + 2.35 * 3000 + 2.48 * 1000) / 5000)
    assert grid.merge_overlapping_territories(list(reversed(territoires)), zoom) == merged
