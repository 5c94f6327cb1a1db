"""nearest(): exact answers through the spatial index, the same on SQLite and PostgreSQL.

Each comparison is against a brute-force answer (every row, Python haversine): both databases must
return exactly that list, hence the same lieux in the same order.
"""

import random

import pytest
from django.db import connection

from mednum.geo import nearest as nearest_module
from mednum.geo.nearest import nearest, nearest_ids, rows_in_boxes
from mednum.geo.distance import BBox, haversine_km
from mednum.lieux.models import Lieu
from mednum.standard import schema

from .helpers import brute_force, bulk, lieu, postgres_only, random_lieux

pytestmark = pytest.mark.django_db


@pytest.fixture
def lyon_area():
    return bulk(random_lieux(1200, centre=(45.76, 4.84), spread_km=40, seed=7))


def _mask(field, value):
    return schema.bits(field)[value]


def test_same_as_brute_force(lyon_area):
    points = [(45.76, 4.84), (45.90, 5.20), (45.30, 4.40), (46.50, 4.84)]  # centre, edge, outside the cloud
    for point in points:
        for limit, radius in [(1, 100), (20, 10), (20, 100), (61, 25), (500, 100), (2000, 100)]:
            got = nearest_ids(*point, limit=limit, radius_km=radius)
            expected = brute_force(*point, limit=limit, radius_km=radius)
            assert [g[0] for g in got] == [e[0] for e in expected], (point, limit, radius)
            assert [g[1] for g in got] == pytest.approx([e[1] for e in expected], abs=1e-9)


def test_filters_in_sql(lyon_area):
    service = "Aide aux démarches administratives"
    where = "(l.services_mask & %s) != 0 AND (l.frais_mask & %s) != 0"
    params = [_mask("services", service), _mask("frais_a_charge", "Gratuit")]
    got = nearest_ids(45.76, 4.84, limit=30, radius_km=50, where_sql=where, where_params=params)
    expected = brute_force(
        45.76, 4.84, limit=30, radius_km=50,
        predicate=lambda o: service in o.list_values("services") and "Gratuit" in o.list_values("frais_a_charge"),
    )
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert len(got) == 30


def test_python_predicate_on_extra_columns(lyon_area):
    keep = {o.id for o in lyon_area if o.id % 7 == 0}
    got = nearest(
        45.76, 4.84, limit=15, radius_km=100, columns=("l.id", "l.nom"), accept=lambda extras: extras[0] in keep
    )
    expected = brute_force(45.76, 4.84, limit=15, radius_km=100, predicate=lambda o: o.id in keep)
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert all(len(row) == 4 and row[3].startswith("Lieu ") for row in got)


def test_results_are_ordered_by_distance_then_id():
    a = lieu(45.0, 5.0)
    b = lieu(45.0, 5.0)  # same place: the smaller id comes first
    c = lieu(45.001, 5.0)
    got = nearest_ids(45.0, 5.0, limit=10, radius_km=5)
    assert [g[0] for g in got] == [a.id, b.id, c.id]
    assert got[0][1] == 0.0


def test_radius_is_respected_exactly():
    near = lieu(45.0, 5.0 + 0.1)  # ≈ 7.86 km east
    lieu(45.0, 5.0 + 0.2)  # ≈ 15.7 km
    assert [g[0] for g in nearest_ids(45.0, 5.0, limit=10, radius_km=10)] == [near.id]
    assert nearest_ids(45.0, 5.0, limit=10, radius_km=7.8) == []
    assert nearest_ids(45.0, 5.0, limit=0, radius_km=10) == []


def test_merged_and_unlocated_lieux_are_never_returned():
    survivor = lieu(45.0, 5.0)
    merged = lieu(45.0, 5.0001)
    merged.fusionne_dans = survivor
    merged.save()
    lieu(None, None)
    got = nearest_ids(45.0, 5.0, limit=10, radius_km=10)
    assert [g[0] for g in got] == [survivor.id]


def test_sparse_area_grows_until_the_radius():
    far = lieu(44.0, 3.0)
    got = nearest_ids(45.0, 5.0, limit=5, radius_km=100)
    assert got == []
    got = nearest_ids(45.0, 5.0, limit=5, radius_km=300)
    assert [g[0] for g in got] == [far.id]


def test_across_the_antimeridian():
    east = lieu(-14.0, 179.98)
    west = lieu(-14.0, -179.98)
    lieu(-14.0, 178.0)  # ≈ 215 km away
    got = nearest_ids(-14.0, 179.999, limit=5, radius_km=50)
    assert [g[0] for g in got] == [east.id, west.id]


def test_high_latitude_and_overseas():
    # Saint-Pierre-et-Miquelon and Kerguelen-like latitudes: longitude degrees are short there.
    a = lieu(46.78, -56.17)
    b = lieu(46.78, -56.30)
    got = nearest_ids(46.78, -56.17, limit=2, radius_km=20)
    assert [g[0] for g in got] == [a.id, b.id]
    c = lieu(-49.35, 70.22)
    assert [g[0] for g in nearest_ids(-49.30, 70.10, limit=1, radius_km=20)] == [c.id]


def test_distances_are_computed_on_candidates_only(lyon_area, monkeypatch):
    """Never a distance per row of the table: only the rows the index hands over."""
    calls = {"n": 0}
    real = nearest_module.haversine_km

    def counting(*args):
        calls["n"] += 1
        return real(*args)

    monkeypatch.setattr(nearest_module, "haversine_km", counting)
    nearest_ids(45.76, 4.84, limit=10, radius_km=100)
    assert 10 <= calls["n"] < len(lyon_area) / 5


def test_rows_in_boxes(lyon_area):
    box = BBox(45.7, 45.8, 4.8, 4.9)
    rows = rows_in_boxes([box])
    expected = {
        o.id for o in Lieu.objects.all() if 45.7 <= o.latitude <= 45.8 and 4.8 <= o.longitude <= 4.9
    }
    assert {r[0] for r in rows} == expected
    assert len(rows_in_boxes([box], limit=5)) == 6  # limit + 1 tells "more than limit"


def test_uses_the_spatial_index():
    lieu(45.0, 5.0)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            def plan_of(**kwargs):
                sql, params = nearest_module.box_query(connection, BBox(44, 46, 4, 6), **kwargs)
                cursor.execute("EXPLAIN QUERY PLAN " + sql.replace("%s", "?"), params)
                return [row[-1] for row in cursor.fetchall()]

            # A nearest-lieux query: the R*Tree drives, lieux_lieu is read by id, never scanned.
            plan = plan_of()
            assert len(plan) == 2 and plan[0].startswith("SCAN r VIRTUAL TABLE INDEX"), plan
            assert plan[1] == "SEARCH l USING INTEGER PRIMARY KEY (rowid=?)"
            # A whole box (the map): the ids the R*Tree finds are sorted, then lieux_lieu is read by id in
            # that order.
            plan = plan_of(by_id=True)
            assert plan == [
                "CO-ROUTINE r", plan[1], "USE TEMP B-TREE FOR ORDER BY", "SCAN r",
                "SEARCH l USING INTEGER PRIMARY KEY (rowid=?)",
            ], plan
            assert plan[1].startswith("SCAN s VIRTUAL TABLE INDEX")
        else:
            # On a table this small the planner may prefer another index and a sort (it did after the
            # transactional tests' flushes): what matters is that the GiST index delivers the KNN order.
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("SET enable_sort = off")
            cursor.execute(
                "EXPLAIN SELECT id FROM lieux_lieu l WHERE l.latitude IS NOT NULL AND l.longitude IS NOT NULL "
                "AND l.fusionne_dans_id IS NULL ORDER BY point(l.longitude, l.latitude) <-> point(5, 45) LIMIT 5"
            )
            plan = " ".join(r[0] for r in cursor.fetchall())
            assert "geo_lieu_point_gist" in plan


def _box_ids(box, **kwargs):
    sql, params = nearest_module.box_query(connection, box, **kwargs)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    assert len(ids) == len(set(ids))
    return ids


@pytest.mark.parametrize("by_id", [False, True])
def test_a_box_without_the_boxes_already_read(lyon_area, by_id):
    """`exclude`: exactly the rows of the box that a query on the other boxes did not select."""
    rng = random.Random(3)
    for _ in range(12):
        lat, lon = 45.76 + rng.uniform(-0.2, 0.2), 4.84 + rng.uniform(-0.3, 0.3)
        inner = BBox(lat - rng.uniform(0, 0.1), lat + rng.uniform(0, 0.1), lon - rng.uniform(0, 0.1), lon + rng.uniform(0, 0.1))
        outer = BBox(inner.min_lat - 0.1, inner.max_lat + rng.uniform(0, 0.2), inner.min_lon - rng.uniform(0, 0.2), inner.max_lon + 0.05)
        other = BBox(lat, lat + 0.3, lon - 0.3, lon)  # overlaps, contains neither
        expected = set(_box_ids(outer)) - set(_box_ids(inner)) - set(_box_ids(other))
        got = _box_ids(outer, by_id=by_id, exclude=[inner, other])
        assert set(got) == expected
        assert expected  # the cases mean something
        if by_id and connection.vendor == "sqlite":
            assert got == sorted(got)


def test_a_growing_box_reads_each_row_once(lyon_area, monkeypatch):
    """However often the box grows, a row is read once: each larger box reads only what it adds (here the
    starting box is tiny and nothing is accepted, as for « ouvert maintenant » on a Sunday night)."""
    read: list[int] = []
    passes = []
    real = nearest_module._rows_in_boxes

    def counting(*args, **kwargs):
        passes.append(1)
        for row in real(*args, **kwargs):
            read.append(row[0])
            yield row

    monkeypatch.setattr(nearest_module, "_rows_in_boxes", counting)
    nearest_module._DENSITY_HINTS.clear()
    key = nearest_module._hint_key(45.76, 4.84, "", (), True)
    nearest_module._DENSITY_HINTS[key] = 1e6  # far too dense: a starting box of a few metres
    # Called directly: PostgreSQL grows a box only across the antimeridian (its nearest-first scan is
    # tested above), SQLite always.
    def growing(limit, accept):
        return nearest_module._nearest_growing_box(connection, 45.76, 4.84, limit, 30, "", (), ("l.id",), accept)

    got = growing(5, lambda extras: False)
    assert got == []
    assert len(passes) >= 5  # it grew several times…
    assert len(read) == len(set(read))  # … and read no row twice
    in_final_box = set(_box_ids(nearest_module.bboxes_for_radius(45.76, 4.84, 30)[0]))
    assert set(read) == in_final_box

    # With a predicate that accepts some rows, the answer is still the exact one.
    read.clear()
    keep = {o.id for o in lyon_area if o.id % 11 == 0}
    nearest_module._DENSITY_HINTS[key] = 1e6
    got = growing(7, lambda extras: extras[0] in keep)
    expected = brute_force(45.76, 4.84, limit=7, radius_km=30, predicate=lambda o: o.id in keep)
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[1] for g in got] == pytest.approx([e[1] for e in expected], abs=1e-9)
    assert len(read) == len(set(read))


@postgres_only
def test_postgresql_scan_goes_on_without_reading_a_row_twice(lyon_area, monkeypatch):
    """When the first rows of the nearest-first scan are not enough (a rare match) and a larger LIMIT would
    ask for many rows, the scan goes on where it stopped: each row is judged once, and the answer is the
    exact one. (KNN_LIMIT_MAX lowered so that the first query is the only one with a LIMIT.)"""
    monkeypatch.setattr(nearest_module, "KNN_LIMIT_MAX", 100)
    keep = {o.id for o in lyon_area if o.id % 97 == 0}
    judged = []

    def accept(extras):
        judged.append(extras[0])
        return extras[0] in keep

    got = nearest(45.76, 4.84, limit=8, radius_km=100, columns=("l.id",), accept=accept)
    expected = brute_force(45.76, 4.84, limit=8, radius_km=100, predicate=lambda o: o.id in keep)
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[1] for g in got] == pytest.approx([e[1] for e in expected], abs=1e-9)
    assert len(judged) > 8 * 6 + 16  # past the first query's rows…
    assert len(judged) == len(set(judged))  # … and none judged twice


@pytest.mark.parametrize("seed", range(4))
def test_random_queries_match_brute_force(seed):
    rng = random.Random(seed)
    bulk(random_lieux(400, centre=(43.6, 1.44), spread_km=15, seed=seed + 100))
    for _ in range(10):
        lat, lon = 43.6 + rng.uniform(-0.2, 0.2), 1.44 + rng.uniform(-0.3, 0.3)
        limit, radius = rng.randint(1, 80), rng.choice([1, 3, 10, 30])
        got = nearest_ids(lat, lon, limit=limit, radius_km=radius)
        expected = brute_force(lat, lon, limit=limit, radius_km=radius)
        assert [g[0] for g in got] == [e[0] for e in expected]


def test_density_hints_only_change_the_starting_box(lyon_area):
    """A query repeated nearby starts from a box sized by the density seen: fewer queries, same answer."""
    first = nearest_ids(45.76, 4.84, limit=25, radius_km=30)
    if connection.vendor == "sqlite":  # PostgreSQL's nearest-first scan needs no starting box
        assert nearest_module._DENSITY_HINTS
    else:
        nearest_module._DENSITY_HINTS[nearest_module._hint_key(45.76, 4.84, "", (), None)] = 1.0
    again = nearest_ids(45.761, 4.841, limit=25, radius_km=30)
    assert [g[0] for g in again] == [e[0] for e in brute_force(45.761, 4.841, limit=25, radius_km=30)]
    # A wildly wrong hint (far too dense or empty) still gives the exact answer.
    for density in (1e6, 1e-9, 0.0):
        for key in list(nearest_module._DENSITY_HINTS):
            nearest_module._DENSITY_HINTS[key] = density
        assert nearest_ids(45.76, 4.84, limit=25, radius_km=30) == first


@postgres_only
def test_postgresql_prepares_the_repeated_nearest_query(settings):
    bulk(random_lieux(50, centre=(45.0, 5.0), seed=21))

    def prepared_knn() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%<->%"])
            return cursor.fetchone()[0]

    connection.ensure_connection()
    connection.connection.prepare_threshold = None  # as Django opens it
    settings.MEDNUM_PG_PREPARED_STATEMENTS = False
    expected = nearest_ids(45.0, 5.0, limit=5, radius_km=20)
    for _ in range(3):
        assert nearest_ids(45.0, 5.0, limit=5, radius_km=20) == expected
    assert prepared_knn() == 0  # turned off: Django's client-side binding

    settings.MEDNUM_PG_PREPARED_STATEMENTS = True
    for _ in range(3):
        assert nearest_ids(45.0, 5.0, limit=5, radius_km=20) == expected
    assert prepared_knn() == 1  # same answers, one statement prepared on the server


def test_count_within_is_exact_and_may_stop_early():
    from mednum.geo.nearest import count_within

    objs = bulk(random_lieux(120, centre=(45.0, 5.0), spread_km=8, seed=22))
    inside = sum(1 for o in objs if haversine_km(45.0, 5.0, o.latitude, o.longitude) <= 5)
    assert 10 < inside < 120
    assert count_within(45.0, 5.0, radius_km=5) == inside
    assert count_within(45.0, 5.0, radius_km=5, stop_after=inside) == inside
    assert count_within(45.0, 5.0, radius_km=5, stop_after=10) == 11  # « more than 10 »
