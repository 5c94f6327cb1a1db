"""The spatial index over `lieux_lieu`, on both databases. Latitude and longitude stay plain columns.

SQLite
    An R*Tree virtual table `geo_lieu_rtree(id, min_lat, max_lat, min_lon, max_lon)` (one degenerate box
    per lieu) kept in step with `lieux_lieu` by three triggers. It holds only the rows that search may
    return: with both coordinates and not merged into another lieu (`fusionne_dans_id IS NULL`).
    The R*Tree stores 32-bit floats rounded outwards, so a box query may return a few extra rows but never
    misses one; exact distances are always computed afterwards on the real columns.

    Beside it, a narrow table `geo_lieu_point` holds, for the same rows, what a nearest-lieux query reads
    of each candidate: the id, the exact coordinates and the filter masks (`COVERED_COLUMNS`, the columns
    PostgreSQL's GiST index carries). A `lieux_lieu` row is wide (texts, hours, lists): looking up ~70
    candidates of a search box in it cost ~150 µs more than in this table, whose rows (~90 bytes) sit a
    hundred to a page (bench/bench_nearest.py). The same triggers keep both in step, plus one for the
    masks alone.

    Django rebuilds a SQLite table (create a copy, drop the old one, rename) for many schema changes, and
    dropping a table drops its triggers. `ensure_sqlite_index` therefore runs after every `migrate`
    (post_migrate signal, see `apps.py`): it recreates missing triggers and refills the R*Tree when they
    were missing.

PostgreSQL
    A GiST index on the expression `point(longitude, latitude)`, partial on the same rows. It serves box
    queries (`point(...) <@ box(...)`) and nearest-first scans (`ORDER BY point(...) <-> point(lon, lat)`).
    It carries the id, the coordinates and the filter masks (INCLUDE), so these queries are index-only
    scans once (auto)vacuum has marked the table's pages all-visible. No PostGIS needed.

Both
    A plain index on `modifie_le`, so that the data version used by map ETags (`max(modifie_le)`) is a
    single index lookup.

`rebuild()` (command `manage.py rebuild_spatial_index`) rebuilds from scratch.

Bulk inserts (SQLite)
    `indexing_inserts_at_end(connection)` lets an import insert thousands of lieux without running the
    insert trigger once per row: inside the caller's transaction it drops that trigger, and at the end
    of the block indexes every lieu inserted since (one `INSERT … SELECT`, in spatial order) and creates
    the trigger again. SQLite's schema changes are transactional, so a process killed in the middle
    rolls back the drop with the rows: the index never disagrees with the table, and no other
    connection ever sees the table without its trigger.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

from django.db import connections, transaction

logger = logging.getLogger(__name__)

RTREE_TABLE = "geo_lieu_rtree"
POINT_TABLE = "geo_lieu_point"
GIST_INDEX = "geo_lieu_point_gist"
MODIFIE_LE_INDEX = "geo_lieu_modifie_le"
TRIGGER_NAMES = ("geo_lieu_rtree_insert", "geo_lieu_rtree_update", "geo_lieu_rtree_delete", "geo_lieu_point_masks")

ELIGIBLE = "latitude IS NOT NULL AND longitude IS NOT NULL AND fusionne_dans_id IS NULL"

# What a nearest or box query selects (id, coordinates) and filters on (the bit masks of
# `lieux.models.MASK_COLUMNS`): carried in the leaves of PostgreSQL's GiST index (INCLUDE), and in
# SQLite's `geo_lieu_point` table.
COVERED_COLUMNS = (
    "id", "latitude", "longitude", "services_mask", "publics_mask", "prise_en_charge_mask", "frais_mask",
    "dispositifs_mask", "formations_mask", "modalites_acces_mask", "modalites_accompagnement_mask",
    "itinerance_mask",
)
MASK_COLUMNS = COVERED_COLUMNS[3:]
_COVERED_LIST = ", ".join(COVERED_COLUMNS)
_NEW_COVERED = ", ".join(f"NEW.{c}" for c in COVERED_COLUMNS)

SQLITE_CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {RTREE_TABLE} USING rtree(id, min_lat, max_lat, min_lon, max_lon)"
)
SQLITE_CREATE_POINT_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {POINT_TABLE} (id INTEGER PRIMARY KEY, latitude REAL NOT NULL, "
    "longitude REAL NOT NULL, " + ", ".join(f"{c} INTEGER NOT NULL" for c in MASK_COLUMNS) + ")"
)


def sqlite_triggers(point_table: bool = True) -> tuple[str, ...]:
    """The triggers that keep the R*Tree (and, with `point_table`, `geo_lieu_point`) in step with
    `lieux_lieu`: insert, update of position or merge, delete; and an update of the masks alone."""
    point_insert = point_delete = ""
    if point_table:
        point_insert = (
            f"INSERT OR REPLACE INTO {POINT_TABLE} ({_COVERED_LIST}) SELECT {_NEW_COVERED} "
            "WHERE NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL AND NEW.fusionne_dans_id IS NULL;"
        )
        point_delete = f"DELETE FROM {POINT_TABLE} WHERE id = OLD.id;"
    triggers = [
        f"""
    CREATE TRIGGER IF NOT EXISTS geo_lieu_rtree_insert AFTER INSERT ON lieux_lieu
    WHEN NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL AND NEW.fusionne_dans_id IS NULL
    BEGIN
        INSERT OR REPLACE INTO {RTREE_TABLE} (id, min_lat, max_lat, min_lon, max_lon)
        VALUES (NEW.id, NEW.latitude, NEW.latitude, NEW.longitude, NEW.longitude);
        {point_insert}
    END
    """,
        f"""
    CREATE TRIGGER IF NOT EXISTS geo_lieu_rtree_update AFTER UPDATE OF id, latitude, longitude, fusionne_dans_id
    ON lieux_lieu
    WHEN OLD.id IS NOT NEW.id OR OLD.latitude IS NOT NEW.latitude OR OLD.longitude IS NOT NEW.longitude
        OR OLD.fusionne_dans_id IS NOT NEW.fusionne_dans_id
    BEGIN
        DELETE FROM {RTREE_TABLE} WHERE id = OLD.id;
        {point_delete}
        INSERT OR REPLACE INTO {RTREE_TABLE} (id, min_lat, max_lat, min_lon, max_lon)
        SELECT NEW.id, NEW.latitude, NEW.latitude, NEW.longitude, NEW.longitude
        WHERE NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL AND NEW.fusionne_dans_id IS NULL;
        {point_insert}
    END
    """,
        f"""
    CREATE TRIGGER IF NOT EXISTS geo_lieu_rtree_delete AFTER DELETE ON lieux_lieu
    BEGIN
        DELETE FROM {RTREE_TABLE} WHERE id = OLD.id;
        {point_delete}
    END
    """,
    ]
    if point_table:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in MASK_COLUMNS)
        assignments = ", ".join(f"{c} = NEW.{c}" for c in MASK_COLUMNS)
        # Runs after the update trigger above when both fire: both write the row's new values.
        triggers.append(
            f"""
    CREATE TRIGGER IF NOT EXISTS geo_lieu_point_masks AFTER UPDATE OF {", ".join(MASK_COLUMNS)} ON lieux_lieu
    WHEN {changed}
    BEGIN
        UPDATE {POINT_TABLE} SET {assignments} WHERE id = NEW.id;
    END
    """
        )
    return tuple(triggers)


SQLITE_TRIGGERS = sqlite_triggers()
SQLITE_INSERT_TRIGGER = TRIGGER_NAMES[0]

SQLITE_FILL = (
    f"INSERT INTO {RTREE_TABLE} (id, min_lat, max_lat, min_lon, max_lon) "
    f"SELECT id, latitude, latitude, longitude, longitude FROM lieux_lieu WHERE {ELIGIBLE}"
)
SQLITE_FILL_POINTS = (
    f"INSERT OR REPLACE INTO {POINT_TABLE} ({_COVERED_LIST}) SELECT {_COVERED_LIST} FROM lieux_lieu WHERE {ELIGIBLE}"
)


def covers(*sql: str) -> bool:
    """Whether every column of the alias `l` named in these SQL pieces is one of COVERED_COLUMNS (so the
    query can read `geo_lieu_point` instead of `lieux_lieu`)."""
    return all(name in _COVERED_SET for piece in sql for name in _L_COLUMN.findall(piece))


_COVERED_SET = frozenset(COVERED_COLUMNS)
_L_COLUMN = re.compile(r"\bl\.(\w+)")


# PostgreSQL: with COVERED_COLUMNS in the GiST index's leaves (INCLUDE), the query is an index-only
# scan: nearby lieux sit together in the index's leaves, whereas their table rows are scattered in the
# order they were imported (one table page per candidate, read from disk when cold).
POSTGRES_CREATE = (
    f"CREATE INDEX IF NOT EXISTS {GIST_INDEX} ON lieux_lieu USING gist (point(longitude, latitude)) "
    f"INCLUDE ({_COVERED_LIST}) WHERE {ELIGIBLE}"
)
# The index of mednum ≤ migration lieux.0003 (no INCLUDE), kept for that migration's reversal.
POSTGRES_CREATE_UNCOVERED = (
    f"CREATE INDEX IF NOT EXISTS {GIST_INDEX} ON lieux_lieu USING gist (point(longitude, latitude)) "
    f"WHERE {ELIGIBLE}"
)

MODIFIE_LE_CREATE = f"CREATE INDEX IF NOT EXISTS {MODIFIE_LE_INDEX} ON lieux_lieu (modifie_le)"


class SpatialIndexUnavailable(RuntimeError):
    pass


def _sqlite_has_rtree_module(cursor) -> bool:
    try:
        cursor.execute("CREATE VIRTUAL TABLE temp.geo_rtree_probe USING rtree(id, a, b)")
        cursor.execute("DROP TABLE temp.geo_rtree_probe")
    except Exception:  # noqa: BLE001 - any failure means the module is missing
        return False
    return True


def _sqlite_objects(cursor) -> tuple[set[str], set[str]]:
    cursor.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')")
    tables, triggers = set(), set()
    for kind, name in cursor.fetchall():
        (tables if kind == "table" else triggers).add(name)
    return tables, triggers


def install(connection) -> None:
    """Create the spatial index for this connection's database (used by the migration)."""
    with connection.cursor() as cursor:
        cursor.execute(MODIFIE_LE_CREATE)
        if connection.vendor == "sqlite":
            _install_sqlite(cursor)
        elif connection.vendor == "postgresql":
            cursor.execute(POSTGRES_CREATE)
        else:  # pragma: no cover - mednum supports SQLite and PostgreSQL only
            logger.warning("Index spatial non créé : base %s non prise en charge", connection.vendor)
    forget_tables(connection)


def uninstall(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in TRIGGER_NAMES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {RTREE_TABLE}")
            cursor.execute(f"DROP TABLE IF EXISTS {POINT_TABLE}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {GIST_INDEX}")
        cursor.execute(f"DROP INDEX IF EXISTS {MODIFIE_LE_INDEX}")
    forget_tables(connection)


def _install_sqlite(cursor) -> None:
    if not _sqlite_has_rtree_module(cursor):
        logger.warning(
            "SQLite sans module R*Tree : la recherche par distance lira lieux_lieu par boîte englobante."
        )
        return
    # Idempotent: also what brings a database indexed by an earlier mednum (R*Tree alone) up to date.
    for name in TRIGGER_NAMES:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    cursor.execute(SQLITE_CREATE_TABLE)
    cursor.execute(SQLITE_CREATE_POINT_TABLE)
    cursor.execute(f"DELETE FROM {RTREE_TABLE}")
    cursor.execute(f"DELETE FROM {POINT_TABLE}")
    cursor.execute(SQLITE_FILL)
    cursor.execute(SQLITE_FILL_POINTS)
    for sql in SQLITE_TRIGGERS:
        cursor.execute(sql)


def drop_point_table(connection) -> None:
    """Back to the R*Tree alone (the reversal of migration lieux.0012): its triggers without the table."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        tables, _triggers = _sqlite_objects(cursor)
        for name in TRIGGER_NAMES:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {POINT_TABLE}")
        if RTREE_TABLE in tables:
            for sql in sqlite_triggers(point_table=False):
                cursor.execute(sql)
    forget_tables(connection)


def _sqlite_insert_trigger_present(cursor) -> bool:
    cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [SQLITE_INSERT_TRIGGER])
    return cursor.fetchone() is not None


@contextmanager
def indexing_inserts_at_end(connection):
    """Index the lieux inserted in this block at its end, in one statement, instead of row by row.

    Must run inside a transaction (`transaction.atomic`): the trigger is dropped and created again in
    that transaction, within a savepoint, so that an error in the block restores it with the rows.
    Only rows *inserted* in the block are handled at the end (ids above the largest one before the
    block: lieux_lieu ids only grow); updates and deletes still go through their triggers. Does
    nothing but run the block on PostgreSQL or when the R*Tree or its insert trigger is absent.
    """
    if connection.vendor != "sqlite" or not connection.in_atomic_block or not has_rtree(connection):
        yield
        return
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            deferred = _sqlite_insert_trigger_present(cursor)
            if deferred:
                cursor.execute("SELECT coalesce(max(id), 0) FROM lieux_lieu")
                (last_id,) = cursor.fetchone()
                cursor.execute(f"DROP TRIGGER {SQLITE_INSERT_TRIGGER}")
        yield
        if deferred:
            with connection.cursor() as cursor:
                # In spatial order: consecutive boxes go to the same R*Tree leaves.
                cursor.execute(
                    f"INSERT OR REPLACE INTO {RTREE_TABLE} (id, min_lat, max_lat, min_lon, max_lon) "
                    f"SELECT id, latitude, latitude, longitude, longitude FROM lieux_lieu "
                    f"WHERE id > %s AND {ELIGIBLE} ORDER BY latitude, longitude",
                    [last_id],
                )
                if has_point_table(connection):
                    cursor.execute(f"{SQLITE_FILL_POINTS} AND id > %s", [last_id])
                cursor.execute(SQLITE_TRIGGERS[0])


def ensure_sqlite_index(using: str = "default") -> bool:
    """Recreate missing R*Tree triggers (and refill the R*Tree) after a migration; True if it repaired.

    Does nothing on PostgreSQL, before `lieux_lieu` exists, or when the R*Tree was never created.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        tables, triggers = _sqlite_objects(cursor)
        if "lieux_lieu" not in tables or RTREE_TABLE not in tables:
            return False
        if POINT_TABLE in tables and all(name in triggers for name in TRIGGER_NAMES):
            return False
        if POINT_TABLE not in tables and all(name in triggers for name in TRIGGER_NAMES[:3]):
            return False  # the R*Tree alone, as before migration lieux.0012 (applied later, or reversed)
        cursor.execute("SELECT EXISTS (SELECT 1 FROM lieux_lieu)")
        has_lieux = bool(cursor.fetchone()[0])
    # Expected after migrations that rebuild `lieux_lieu` (a new database goes through some): worth a
    # warning only when there are lieux to index again.
    if has_lieux:
        logger.warning("Déclencheurs de l'index spatial absents (table reconstruite ?) : reconstruction.")
    else:
        logger.info("Index spatial : déclencheurs recréés après la reconstruction de la table des lieux.")
    rebuild(using)
    return True


def rebuild(using: str = "default") -> int:
    """Rebuild the spatial index from `lieux_lieu`; returns the number of indexed lieux."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            if not _sqlite_has_rtree_module(cursor):
                raise SpatialIndexUnavailable("Ce SQLite n'a pas le module R*Tree.")
            for name in TRIGGER_NAMES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {RTREE_TABLE}")
            cursor.execute(f"DROP TABLE IF EXISTS {POINT_TABLE}")
            cursor.execute(MODIFIE_LE_CREATE)
            _install_sqlite(cursor)
            forget_tables(connection)
            cursor.execute(f"SELECT count(*) FROM {RTREE_TABLE}")
            return cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            # Inside a transaction with deferred foreign-key checks pending, PostgreSQL refuses to
            # (re)index the table: run those checks now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(POSTGRES_CREATE)
            cursor.execute(MODIFIE_LE_CREATE)
            cursor.execute(f"REINDEX INDEX {GIST_INDEX}")
            cursor.execute("ANALYZE lieux_lieu")
            cursor.execute(f"SELECT count(*) FROM lieux_lieu WHERE {ELIGIBLE}")
            return cursor.fetchone()[0]
    raise SpatialIndexUnavailable(f"Base {connection.vendor} non prise en charge.")


def upgrade_postgres_index(connection, *, covered: bool = True) -> None:
    """Replace the PostgreSQL GiST index by the covering one (or, `covered=False`, by the plain one)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {GIST_INDEX}")
        cursor.execute(POSTGRES_CREATE if covered else POSTGRES_CREATE_UNCOVERED)


def _spatial_tables(connection) -> frozenset[str]:
    """Which of the R*Tree and `geo_lieu_point` this SQLite database has (cached on the connection
    wrapper, for the connection it holds)."""
    cached = getattr(connection, "_mednum_spatial_tables", None)
    if cached is None or cached[0] is not connection.connection:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (%s, %s)", [RTREE_TABLE, POINT_TABLE]
            )
            present = frozenset(row[0] for row in cursor.fetchall())
        cached = (connection.connection, present)
        connection._mednum_spatial_tables = cached
    return cached[1]


def has_rtree(connection) -> bool:
    """Whether this SQLite database has the R*Tree."""
    return RTREE_TABLE in _spatial_tables(connection)


def has_point_table(connection) -> bool:
    """Whether this SQLite database has `geo_lieu_point` beside its R*Tree."""
    tables = _spatial_tables(connection)
    return RTREE_TABLE in tables and POINT_TABLE in tables


def forget_tables(connection) -> None:
    """Look again at which spatial tables exist (after creating or dropping them on this connection)."""
    try:
        del connection._mednum_spatial_tables
    except AttributeError:
        pass


def check(using: str = "default") -> dict[str, int]:
    """Counts to verify the index matches the table (used by tests and the rebuild command)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM lieux_lieu WHERE {ELIGIBLE}")
        eligible = cursor.fetchone()[0]
        indexed = eligible
        if connection.vendor == "sqlite" and has_rtree(connection):
            cursor.execute(f"SELECT count(*) FROM {RTREE_TABLE}")
            indexed = cursor.fetchone()[0]
            cursor.execute(
                f"SELECT count(*) FROM {RTREE_TABLE} r LEFT JOIN lieux_lieu l ON l.id = r.id "
                "WHERE l.id IS NULL OR l.latitude IS NULL OR l.longitude IS NULL OR l.fusionne_dans_id IS NOT NULL "
                f"OR abs(r.min_lat - l.latitude) > 1e-4 OR abs(r.min_lon - l.longitude) > 1e-4"
            )
            stale = cursor.fetchone()[0]
            if has_point_table(connection):
                cursor.execute(f"SELECT count(*) FROM {POINT_TABLE}")
                points = cursor.fetchone()[0]
                differs = " OR ".join(f"p.{c} IS NOT l.{c}" for c in COVERED_COLUMNS[1:])
                cursor.execute(
                    f"SELECT count(*) FROM {POINT_TABLE} p LEFT JOIN lieux_lieu l ON l.id = p.id "
                    f"WHERE l.id IS NULL OR l.fusionne_dans_id IS NOT NULL OR {differs}"
                )
                stale += cursor.fetchone()[0] + abs(points - indexed)
        else:
            stale = 0
    return {"eligible": eligible, "indexed": indexed, "stale": stale}
