"""The spatial index stays in step with lieux_lieu (SQLite triggers) and can be rebuilt (both databases)."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from mednum.geo import spatial_index
from mednum.geo.nearest import nearest_ids
from mednum.lieux.models import Lieu

from .helpers import bulk, lieu, postgres_only, random_lieux, sqlite_only, sqlite_only_for

pytestmark = pytest.mark.django_db

sqlite_point_table = sqlite_only_for(
    "geo_lieu_point, the narrow table beside the R*Tree; PostgreSQL's GiST index covers the same columns"
)



def rtree_rows():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, min_lat, max_lat, min_lon, max_lon FROM {spatial_index.RTREE_TABLE} ORDER BY id")
        return cursor.fetchall()


def ids_near(lat, lon):
    return [i for i, _ in nearest_ids(lat, lon, limit=100, radius_km=50)]


def assert_consistent():
    state = spatial_index.check()
    assert state["eligible"] == state["indexed"]
    assert state["stale"] == 0


def test_insert_update_merge_delete_keep_the_index_in_step():
    a = lieu(45.0, 5.0)
    b = lieu(45.01, 5.01)
    unlocated = lieu(None, None)
    assert ids_near(45.0, 5.0) == [a.id, b.id]
    assert_consistent()

    a.latitude, a.longitude = 43.3, 5.4  # moved to Marseille
    a.save()
    assert ids_near(45.0, 5.0) == [b.id]
    assert ids_near(43.3, 5.4) == [a.id]
    assert_consistent()

    unlocated.latitude, unlocated.longitude = 45.0, 5.0  # geocoded later
    unlocated.save()
    assert ids_near(45.0, 5.0) == [unlocated.id, b.id]

    b.fusionne_dans = unlocated  # merged duplicate: out of the index
    b.save()
    assert ids_near(45.0, 5.0) == [unlocated.id]
    assert_consistent()

    b.fusionne_dans = None  # separated again by a reviewer
    b.save()
    assert ids_near(45.0, 5.0) == [unlocated.id, b.id]

    Lieu.objects.filter(id=b.id).update(latitude=None)  # QuerySet.update is seen too
    assert ids_near(45.0, 5.0) == [unlocated.id]

    unlocated.delete()
    assert ids_near(45.0, 5.0) == []
    assert_consistent()


def test_bulk_operations_are_indexed():
    objs = bulk(random_lieux(300, seed=3))
    assert_consistent()
    Lieu.objects.filter(id__in=[o.id for o in objs[:100]]).update(fusionne_dans=objs[-1])
    assert_consistent()
    Lieu.objects.filter(id__in=[o.id for o in objs[100:150]]).delete()
    assert_consistent()
    assert spatial_index.check()["eligible"] == 150


@sqlite_only
def test_rtree_holds_one_box_per_located_unmerged_lieu():
    a = lieu(45.123456, 5.654321)
    lieu(None, 5.0)
    rows = rtree_rows()
    assert [r[0] for r in rows] == [a.id]
    _, min_lat, max_lat, min_lon, max_lon = rows[0]
    # 32-bit floats rounded outwards: the box always contains the real point.
    assert min_lat <= a.latitude <= max_lat and min_lon <= a.longitude <= max_lon
    assert max_lat - min_lat < 1e-5


@sqlite_only
def test_missing_triggers_are_repaired_after_migrate():
    """Django rebuilds SQLite tables on some schema changes, which drops triggers: post_migrate repairs."""
    a = lieu(45.0, 5.0)
    with connection.cursor() as cursor:
        for name in spatial_index.TRIGGER_NAMES:
            cursor.execute(f"DROP TRIGGER {name}")
    b = lieu(45.0, 5.001)  # not indexed: no trigger
    assert ids_near(45.0, 5.0) == [a.id]
    assert spatial_index.ensure_sqlite_index() is True
    assert ids_near(45.0, 5.0) == [a.id, b.id]
    assert spatial_index.ensure_sqlite_index() is False  # nothing to do any more
    c = lieu(45.0, 5.002)
    assert ids_near(45.0, 5.0) == [a.id, b.id, c.id]


@sqlite_only
def test_post_migrate_signal_is_connected():
    from django.db.models.signals import post_migrate

    assert any("mednum.geo.rtree" in str(key) for key, *_ in post_migrate.receivers)


def test_rebuild_command():
    objs = bulk(random_lieux(50, seed=4))
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {spatial_index.RTREE_TABLE}")
        assert spatial_index.check()["indexed"] == 0
    call_command("rebuild_spatial_index")
    assert_consistent()
    assert spatial_index.check()["indexed"] == len(objs)
    call_command("rebuild_spatial_index", "--verifier")


@postgres_only
def test_gist_index_exists():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [spatial_index.GIST_INDEX])
        (definition,) = cursor.fetchone()
    assert "gist" in definition and "point(longitude, latitude)" in definition
    assert "fusionne_dans_id IS NULL" in definition


@postgres_only
def test_gist_index_covers_what_searches_read_and_filter_on():
    from mednum.lieux.models import MASK_COLUMNS

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [spatial_index.GIST_INDEX])
        (definition,) = cursor.fetchone()
    included = definition.split("INCLUDE (", 1)[1].split(")", 1)[0]
    columns = {c.strip() for c in included.split(",")}
    assert {"id", "latitude", "longitude", *MASK_COLUMNS.values()} <= columns


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_filtered_nearest_query_is_an_index_only_scan():
    from mednum.geo import nearest as nearest_module

    bulk(random_lieux(300, seed=8))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE lieux_lieu")  # what autovacuum does after a large write
        sql = (
            nearest_module._select(())
            + " FROM lieux_lieu l WHERE l.latitude IS NOT NULL AND l.longitude IS NOT NULL"
            " AND l.fusionne_dans_id IS NULL AND (l.services_mask & 1) != 0 AND (l.frais_mask & 1) != 0"
            " ORDER BY point(l.longitude, l.latitude) <-> point(5, 45) LIMIT 20"
        )
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_bitmapscan = off")
        try:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
            plan = " ".join(r[0] for r in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_bitmapscan")
    # Everything the query reads comes from the index. (Whether the table is still visited for row
    # visibility depends on the vacuum state of its pages, which other sessions of the suite affect.)
    assert f"Index Only Scan using {spatial_index.GIST_INDEX}" in plan


def test_modifie_le_index_exists():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = %s", [spatial_index.MODIFIE_LE_INDEX])
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = %s", [spatial_index.MODIFIE_LE_INDEX])
        assert cursor.fetchone() is not None


@sqlite_only
def test_inserts_indexed_at_the_end_of_the_block():
    before = lieu(45.0, 5.0)
    with transaction.atomic():
        with spatial_index.indexing_inserts_at_end(connection):
            bulk(random_lieux(200, seed=5))
            unlocated = lieu(None, None)
            assert len(rtree_rows()) == 1  # not indexed yet: the insert trigger is off in this block
        assert_consistent()
    assert len(rtree_rows()) == 200 + 1 and unlocated.id not in {r[0] for r in rtree_rows()}
    assert set(ids_near(45.0, 5.0)) == {before.id}
    later = lieu(45.0, 5.001)  # the trigger is back
    assert set(ids_near(45.0, 5.0)) == {before.id, later.id}
    assert_consistent()


@sqlite_only
def test_an_error_in_the_block_restores_the_trigger_with_the_rows():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        with spatial_index.indexing_inserts_at_end(connection):
            lieu(45.0, 5.0)
            1 / 0
    assert Lieu.objects.count() == 0
    with connection.cursor() as cursor:
        assert spatial_index._sqlite_insert_trigger_present(cursor)
    a = lieu(45.0, 5.0)
    assert ids_near(45.0, 5.0) == [a.id]
    assert_consistent()


def test_an_import_keeps_the_index_in_step(tmp_path):
    from mednum.imports.engine import import_lieux
    from tests.imports.conftest import row, write_csv

    rows = [row(n, latitude=f"{49.2 + n / 1000:.4f}", longitude="4.03") for n in range(1, 31)]
    rows.append(row(31, latitude="", longitude=""))
    report = import_lieux(write_csv(tmp_path / "lieux.csv", rows), "index", batch_size=10)
    assert report.created == 31, report.summary_lines()
    assert_consistent()
    moved = [dict(r, latitude="49.5") if r["id"] == "lieu-3" else r for r in rows]
    report = import_lieux(write_csv(tmp_path / "lieux.csv", moved), "index", batch_size=10)
    assert (report.updated, report.unchanged) == (1, 30)
    assert_consistent()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert spatial_index._sqlite_insert_trigger_present(cursor)


# --- SQLite: geo_lieu_point, the narrow table nearest-lieux queries read -----------------------------


def test_covered_masks_are_the_filter_masks_of_the_model():
    from mednum.lieux.models import MASK_COLUMNS

    assert set(spatial_index.MASK_COLUMNS) == set(MASK_COLUMNS.values())
    assert spatial_index.COVERED_COLUMNS[:3] == ("id", "latitude", "longitude")


def point_rows():
    columns = ", ".join(spatial_index.COVERED_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {spatial_index.POINT_TABLE} ORDER BY id")
        return cursor.fetchall()


def expected_point_row(obj):
    obj.refresh_from_db()
    return tuple(getattr(obj, column) for column in spatial_index.COVERED_COLUMNS)


@sqlite_point_table
def test_point_table_holds_exact_coordinates_and_masks_of_indexed_lieux():
    a = lieu(
        45.123456789012, 5.987654321098, services=["Aide aux démarches administratives"], frais_a_charge=["Gratuit"]
    )
    lieu(None, 5.0)
    merged = lieu(45.2, 5.2)
    merged.fusionne_dans = a
    merged.save()
    assert point_rows() == [expected_point_row(a)]  # exact doubles, unlike the R*Tree's 32-bit floats
    assert point_rows()[0][1] == 45.123456789012

    a.services = "Accès internet et matériel informatique|Aide aux démarches administratives"
    a.set_masks()
    a.save()  # the masks alone changed
    assert point_rows() == [expected_point_row(a)]
    Lieu.objects.filter(id=a.id).update(frais_mask=0)  # QuerySet.update is seen too
    assert point_rows()[0][spatial_index.COVERED_COLUMNS.index("frais_mask")] == 0
    Lieu.objects.filter(id=a.id).update(latitude=46.0, services_mask=4)  # position and mask together
    assert point_rows() == [expected_point_row(a)]
    assert_consistent()


@sqlite_point_table
def test_check_reports_a_point_row_out_of_step_and_rebuild_mends_it():
    a = lieu(45.0, 5.0, services=["Aide aux démarches administratives"])
    lieu(45.1, 5.1)
    assert_consistent()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {spatial_index.POINT_TABLE} SET services_mask = 0 WHERE id = %s", [a.id])
    assert spatial_index.check()["stale"] == 1
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {spatial_index.POINT_TABLE} WHERE id = %s", [a.id])
    assert spatial_index.check()["stale"] == 1  # one row missing
    call_command("rebuild_spatial_index")
    assert_consistent()
    assert point_rows() == [expected_point_row(a), expected_point_row(Lieu.objects.exclude(id=a.id).get())]


@sqlite_point_table
def test_box_queries_read_the_point_table_only_when_it_has_every_column_they_name():
    from mednum.geo.distance import BBox
    from mednum.geo.nearest import box_query

    box = BBox(44.9, 45.1, 4.9, 5.1)
    filters = "(l.services_mask & %s) != 0 AND (l.frais_mask & %s) != 0"
    assert spatial_index.covers(filters)
    assert not spatial_index.covers(filters, "l.horaires")
    assert not spatial_index.covers("l.typologie")
    sql, _ = box_query(connection, box, where_sql=filters)
    assert f"JOIN {spatial_index.POINT_TABLE} l" in sql
    sql, _ = box_query(connection, box, ("l.horaires",), where_sql=filters)
    assert "JOIN lieux_lieu l" in sql
    sql, _ = box_query(connection, box, where_sql="(l.services_mask & %s) != 0 AND l.nom != ''")
    assert "JOIN lieux_lieu l" in sql


@sqlite_point_table
def test_filtered_nearest_gives_the_same_lieux_with_or_without_the_point_table(monkeypatch):
    from mednum.lieux.models import MASK_COLUMNS
    from mednum.standard import schema

    bulk(random_lieux(400, seed=9))
    mask = schema.mask_of("services", ["Aide aux démarches administratives"])
    where = f"(l.{MASK_COLUMNS['services']} & %s) != 0"

    def search():
        return nearest_ids(45.75, 4.85, limit=25, radius_km=80, where_sql=where, where_params=[mask])

    with_points = search()
    assert len(with_points) == 25
    monkeypatch.setattr(spatial_index, "has_point_table", lambda connection: False)
    assert search() == with_points


@sqlite_point_table
def test_the_rtree_alone_still_serves_searches_until_the_point_table_is_back():
    """Migration lieux.0012 reversed (drop_point_table), then applied again (install)."""
    a = lieu(45.0, 5.0, services=["Aide aux démarches administratives"])
    spatial_index.drop_point_table(connection)
    assert not spatial_index.has_point_table(connection) and spatial_index.has_rtree(connection)
    assert spatial_index.ensure_sqlite_index() is False  # a valid state, nothing to repair
    b = lieu(45.0, 5.001)  # indexed by the R*Tree's own triggers
    assert ids_near(45.0, 5.0) == [a.id, b.id]
    assert spatial_index.check() == {"eligible": 2, "indexed": 2, "stale": 0}
    spatial_index.install(connection)
    assert spatial_index.has_point_table(connection)
    assert point_rows() == [expected_point_row(a), expected_point_row(b)]
    c = lieu(45.0, 5.002)
    assert ids_near(45.0, 5.0) == [a.id, b.id, c.id]
    assert_consistent()
