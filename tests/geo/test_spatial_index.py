"""The spatial index stays in step with lieux_lieu (SQLite triggers) and can be rebuilt (both databases)."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from mednum.geo import spatial_index
from mednum.geo.nearest import nearest_ids
from mednum.lieux.models import Lieu

from .helpers import bulk, lieu, postgres_only, random_lieux, sqlite_only

pytestmark = pytest.mark.django_db



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
