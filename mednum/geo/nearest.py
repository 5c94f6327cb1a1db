"""Nearest lieux around a point, through the spatial index, with exact distances on candidates only.

`nearest(lat, lon, limit=…, radius_km=…)` returns the `limit` closest lieux (not merged, with coordinates)
within `radius_km`, as tuples `(id, distance_km, *columns)` ordered by (distance, id). Extra SQL filters
(`where_sql`, written against the alias `l` for `lieux_lieu`, with `%s` placeholders) run in the database;
an optional Python predicate (`accept`, e.g. "open now") runs on the candidates' extra columns.

SQLite — growing box over the R*Tree
    Ask the R*Tree (joined with the narrow `geo_lieu_point` for the exact coordinates and the filters, or
    with `lieux_lieu` when the query needs other columns) for every row in the box around a disc of
    radius r. The disc is inscribed in the box, so all rows closer than r are among the candidates. If at
    least `limit` accepted candidates are closer than r, or r reached `radius_km`, the answer is exact;
    otherwise grow r (guided by the density seen so far) and ask for the rows the larger box adds, so
    that no row is read twice.

PostgreSQL — nearest-first scan of the GiST index
    `ORDER BY point(longitude, latitude) <-> point(lon, lat)` reads rows by plain Euclidean distance in
    degrees, which is not the distance on the ground (a degree of longitude shrinks with cos(latitude)).
    Once every row closer than D degrees has been read, every row closer than
    `radius_reached_by_degrees(lat, D)` km has been read too. A first query reads a few rows (LIMIT);
    when they are not enough, the same scan goes on through a server-side cursor, in growing chunks,
    until `limit` accepted candidates lie within that radius, or the rows within `radius_km` are
    exhausted.

Both paths compute distances with the same Python `haversine_km` on the same rows and apply the same
ordering, so they return the same lieux in the same order. Nothing ever computes a distance for every
row of the table.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Sequence

from django.conf import settings
from django.db import connections, transaction

from . import spatial_index
from .distance import (
    BBox,
    bboxes_for_radius,
    haversine_km,
    radius_reached_by_degrees,
)

Row = tuple  # (id, distance_km, *columns)


# --- hot-path cursor ------------------------------------------------------------------------------

_SQL_CACHE: dict[str, str] = {}


class RawCursor:
    """The driver's own cursor on Django's connection, for the few hot queries of a search.

    Django's cursor wrapper rewrites `%s` to `?` for SQLite with a regular expression and goes through
    its execute wrappers on every call; here the SQL (always written with `%s`) is converted once and
    cached. Same connection, same transaction as the ORM: tests see their own rows.
    """

    __slots__ = ("_cursor", "_sqlite")

    def __init__(self, connection):
        # What Django's own cursor() does first: with CONN_HEALTH_CHECKS, a persistent connection that
        # died between requests is replaced instead of failing the first query of a search.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        self._sqlite = connection.vendor == "sqlite"
        if (not self._sqlite and connection.vendor == "postgresql" and PG_PREPARE_THRESHOLD
                and settings.MEDNUM_PG_PREPARED_STATEMENTS):
            self._cursor = _prepared_statements_cursor(connection.connection)
        else:
            self._cursor = connection.connection.cursor()

    def execute(self, sql: str, params=()):
        if self._sqlite:
            converted = _SQL_CACHE.get(sql)
            if converted is None:
                if len(_SQL_CACHE) > 2000:
                    _SQL_CACHE.clear()
                converted = _SQL_CACHE[sql] = sql.replace("%s", "?")
            sql = converted
        self._cursor.execute(sql, params)
        return self

    def execute_native(self, sql: str, params=()):
        """Execute SQL already written in the driver's parameter style (not cached: e.g. SQL with literals)."""
        self._cursor.execute(sql, params)
        return self

    def fetchall(self):
        return self._cursor.fetchall()

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchmany(self, size: int):
        return self._cursor.fetchmany(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._cursor.close()


# PostgreSQL: the search's few hot queries are prepared on the server after this many runs on a
# connection (planning a nearest query costs ~0.2 ms, as much as running it). Django's own cursors
# bind parameters on the client and never prepare. Off with the setting MEDNUM_PG_PREPARED_STATEMENTS
# (for a pooler in transaction mode that cannot keep prepared statements: PgBouncer before 1.21).
PG_PREPARE_THRESHOLD = 2


def _prepared_statements_cursor(raw):
    """A server-side-binding cursor on psycopg's connection `raw`, whose repeated queries are prepared."""
    import psycopg

    if raw.prepare_threshold is None:  # Django opens connections with preparation off
        raw.prepare_threshold = PG_PREPARE_THRESHOLD
    return psycopg.Cursor(raw)


def raw_cursor(connection) -> RawCursor:
    return RawCursor(connection)


# First search radius on SQLite (km); grows with the density seen. Small enough for Paris at 1M lieux.
INITIAL_RADIUS_KM = 0.5
MAX_GROWTH = 4.0
# Candidate rows are read in chunks of this many (bounded memory however wide the box).
FETCH_CHUNK = 2000


def nearest(
    lat: float,
    lon: float,
    *,
    limit: int,
    radius_km: float,
    where_sql: str = "",
    where_params: Sequence = (),
    columns: Sequence[str] = (),
    accept: Callable[[tuple], bool] | None = None,
    using: str = "default",
) -> list[Row]:
    """The `limit` nearest eligible lieux within `radius_km` of (lat, lon): `(id, distance_km, *columns)`.

    `where_sql` is ANDed to the query (e.g. `"(l.services_mask & %s) != 0"`); `columns` are SQL
    expressions on `l` whose values are appended to each row and passed (as a tuple) to `accept`.
    """
    if limit <= 0 or radius_km <= 0:
        return []
    connection = connections[using]
    if connection.vendor == "postgresql" and len(bboxes_for_radius(lat, lon, radius_km)) == 1:
        return _nearest_knn(connection, lat, lon, limit, radius_km, where_sql, where_params, columns, accept)
    return _nearest_growing_box(connection, lat, lon, limit, radius_km, where_sql, where_params, columns, accept)


def nearest_ids(lat: float, lon: float, *, limit: int, radius_km: float, **kwargs) -> list[tuple[int, float]]:
    """`nearest` reduced to `(id, distance_km)` pairs."""
    return [(row[0], row[1]) for row in nearest(lat, lon, limit=limit, radius_km=radius_km, **kwargs)]


def _select(columns: Sequence[str]) -> str:
    extra = "".join(", " + column for column in columns)
    return f"SELECT l.id, l.latitude, l.longitude{extra}"


def _and(where_sql: str) -> str:
    return f" AND ({where_sql})" if where_sql else ""


# --- rows in a box (both databases) ---------------------------------------------------------------


def box_from(
    connection, box: BBox, *, by_id: bool = False, exclude: Sequence[BBox] = (), covered: bool = False
) -> tuple[str, list]:
    """`FROM … WHERE …` (alias `l` for lieux_lieu) selecting eligible rows in `box`, and its parameters.

    Callers add their own SELECT list, then `AND (…)` conditions on `l` with their parameters.
    `by_id` (SQLite): read the lieux in id order, for callers that read a whole box of many lieux.
    `exclude`: leave out the rows that the same query on these boxes selects (the same comparisons on
    the same values, so the two sets never overlap nor leave a gap): a search box that grows reads
    only what it gained.
    `covered`: the caller names no column of `l` but `spatial_index.COVERED_COLUMNS` (see
    `spatial_index.covers`); on SQLite, `l` is then the narrow `geo_lieu_point` (same rows, same values).
    """
    if connection.vendor == "sqlite" and spatial_index.has_rtree(connection):
        alias = "s" if by_id else "r"
        where, params = _inside_not_before(
            f"{alias}.max_lat >= %s AND {alias}.min_lat <= %s AND {alias}.max_lon >= %s AND {alias}.min_lon <= %s",
            _lat_lon_bounds, box, exclude,
        )
        if not by_id and covered and spatial_index.has_point_table(connection):
            # Holds only indexed lieux (located, not merged): no need to check that again.
            tables = f"{spatial_index.RTREE_TABLE} r CROSS JOIN {spatial_index.POINT_TABLE} l"
            return f" FROM {tables} WHERE {where} AND l.id = r.id", params
        if not by_id:
            # CROSS JOIN keeps the R*Tree as the outer loop (SQLite never reorders a CROSS JOIN).
            sql = (
                f" FROM {spatial_index.RTREE_TABLE} r CROSS JOIN lieux_lieu l WHERE {where} "
                "AND l.id = r.id AND l.fusionne_dans_id IS NULL AND l.latitude IS NOT NULL "
                "AND l.longitude IS NOT NULL"
            )
            return sql, params
        # The R*Tree gives the ids of a box in its own order (by place), and reading lieux_lieu in that
        # order jumps all over the table. Sorted first, the ids are read in the order of the table's
        # pages: at 1M lieux, the ~250,000 lieux of a map at zoom 9 around Paris with a service filter,
        # 0.9 s → 0.6 s (bench/bench_map_payload.py). For a few dozen lieux (a nearest-lieux query)
        # the sort costs more than it saves, hence the choice. `LIMIT -1` (no limit) keeps SQLite from
        # merging the subquery into the join, which would drop its ORDER BY.
        sql = (
            f" FROM (SELECT s.id AS id FROM {spatial_index.RTREE_TABLE} s WHERE {where} ORDER BY s.id LIMIT -1) r "
            "CROSS JOIN lieux_lieu l WHERE l.id = r.id AND l.fusionne_dans_id IS NULL AND l.latitude IS NOT NULL "
            "AND l.longitude IS NOT NULL"
        )
        return sql, params
    if connection.vendor == "postgresql":
        where, params = _inside_not_before(
            "point(l.longitude, l.latitude) <@ box(point(%s, %s), point(%s, %s))", _corners, box, exclude
        )
        sql = (
            " FROM lieux_lieu l WHERE l.latitude IS NOT NULL AND l.longitude IS NOT NULL "
            f"AND l.fusionne_dans_id IS NULL AND {where}"
        )
        return sql, params
    # SQLite without R*Tree: a plain range scan (slow on big tables, still exact).
    where, params = _inside_not_before(
        "l.latitude >= %s AND l.latitude <= %s AND l.longitude >= %s AND l.longitude <= %s",
        _lat_lon_bounds, box, exclude,
    )
    return f" FROM lieux_lieu l WHERE {where} AND l.fusionne_dans_id IS NULL", params


def _lat_lon_bounds(box: BBox) -> list[float]:
    return [box.min_lat, box.max_lat, box.min_lon, box.max_lon]


def _corners(box: BBox) -> list[float]:
    """PostgreSQL's `box(point(lon, lat), point(lon, lat))`: lower-left then upper-right corner."""
    return [box.min_lon, box.min_lat, box.max_lon, box.max_lat]


def _inside_not_before(condition: str, values, box: BBox, exclude: Sequence[BBox]) -> tuple[str, list]:
    """`condition` (with the `values` of a box as parameters) for `box`, and not for any box of `exclude`."""
    where = condition + "".join(f" AND NOT ({condition})" for _old in exclude)
    params = values(box)
    for old in exclude:
        params += values(old)
    return where, params


def box_query(
    connection, box: BBox, columns: Sequence[str] = (), *, by_id: bool = False, exclude: Sequence[BBox] = (),
    where_sql: str = "",
) -> tuple[str, list]:
    """SQL + parameters selecting `l.id, l.latitude, l.longitude, *columns` of eligible rows in `box`
    (`where_sql`: the condition on `l` the caller will add, which may let the query read less)."""
    sql, params = box_from(connection, box, by_id=by_id, exclude=exclude, covered=_covered(columns, where_sql))
    return _select(columns) + sql, params


_COVERS: dict[tuple, bool] = {}


def _covered(columns: Sequence[str], where_sql: str) -> bool:
    key = (tuple(columns), where_sql)
    answer = _COVERS.get(key)
    if answer is None:
        if len(_COVERS) > 1000:
            _COVERS.clear()
        answer = _COVERS[key] = spatial_index.covers(where_sql, *columns)
    return answer


def rows_in_boxes(
    boxes: Sequence[BBox],
    *,
    where_sql: str = "",
    where_params: Sequence = (),
    columns: Sequence[str] = (),
    limit: int | None = None,
    using: str = "default",
) -> list[tuple]:
    """Eligible rows `(id, latitude, longitude, *columns)` inside any of the boxes (no distance)."""
    connection = connections[using]
    out: list[tuple] = []
    seen: set[int] = set()
    with connection.cursor() as cursor:
        for box in boxes:
            sql, params = box_query(connection, box, columns, where_sql=where_sql)
            sql += _and(where_sql)
            params += list(where_params)
            if limit is not None:
                sql += " LIMIT %s"
                params.append(limit + 1 - len(out))
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                if row[0] not in seen:
                    seen.add(row[0])
                    out.append(row)
            if limit is not None and len(out) > limit:
                break
    return out


def count_within(
    lat: float,
    lon: float,
    *,
    radius_km: float,
    where_sql: str = "",
    where_params: Sequence = (),
    columns: Sequence[str] = (),
    accept: Callable[[tuple], bool] | None = None,
    stop_after: int | None = None,
    using: str = "default",
) -> int:
    """Number of eligible lieux within `radius_km`. Reads the candidates of the radius's box, so the
    cost grows with the count (~60,000 lieux within 10 km of central Paris at a million lieux): with
    `stop_after`, it stops as soon as the count exceeds that number and returns `stop_after + 1`."""
    connection = connections[using]
    total = 0
    for row in _rows_in_boxes(connection, bboxes_for_radius(lat, lon, radius_km), where_sql, where_params, columns):
        if haversine_km(lat, lon, row[1], row[2]) <= radius_km and (accept is None or accept(row[3:])):
            total += 1
            if stop_after is not None and total > stop_after:
                break
    return total


def _rows_in_boxes(connection, boxes, where_sql, where_params, columns, by_id=False, exclude=()) -> Iterator[tuple]:
    """The candidate rows `(id, latitude, longitude, *columns)` of the boxes, each lieu once (a search
    box crossing the antimeridian is two boxes), streamed in chunks: a wide radius with a rare "open now"
    may cross many rows, and a caller may stop early (a count that stops at a ceiling). On PostgreSQL,
    whose client otherwise receives a query's whole result at once, the rows come through a server-side
    cursor (in a transaction, which the cursor needs)."""
    seen: set[int] | None = set() if len(boxes) > 1 else None
    if connection.vendor == "postgresql":
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        with transaction.atomic(using=connection.alias):
            for box in boxes:
                sql, params = box_query(connection, box, columns=columns, exclude=exclude)
                with connection.connection.cursor(name="mednum_rows_in_boxes") as cursor:
                    cursor.execute(sql + _and(where_sql), params + list(where_params))
                    while chunk := cursor.fetchmany(FETCH_CHUNK):
                        yield from _unseen(chunk, seen)
        return
    with RawCursor(connection) as cursor:
        for box in boxes:
            sql, params = box_query(connection, box, columns=columns, by_id=by_id, exclude=exclude, where_sql=where_sql)
            cursor.execute(sql + _and(where_sql), params + list(where_params))
            while chunk := cursor.fetchmany(FETCH_CHUNK):
                yield from _unseen(chunk, seen)


def _unseen(chunk: list[tuple], seen: set[int] | None) -> Iterator[tuple]:
    if seen is None:
        yield from chunk
        return
    for row in chunk:
        if row[0] not in seen:
            seen.add(row[0])
            yield row


# Density of matching lieux seen around recent queries (per ~0.1° cell and filter set), so that the
# next query nearby starts with about the right box (one R*Tree query instead of three or four). Only
# the starting radius depends on it: the answer is exact whatever the hint.
_DENSITY_HINTS: dict[tuple, float] = {}
_DENSITY_HINTS_MAX = 50_000


def _hint_key(lat, lon, where_sql, where_params, accept) -> tuple:
    return (round(lat * 10), round(lon * 10), where_sql, tuple(where_params), accept is not None)


def _start_radius(key, limit, radius_km) -> float:
    density = _DENSITY_HINTS.get(key)
    if density is None or density <= 0:
        # Nothing matched here last time: still start small. The matches may have changed (opening hours
        # at another time of day), and a box too small costs a few more queries of what it adds, where the
        # whole radius at once would read every lieu within it (222,000 within 100 km of Paris at 1M).
        return min(radius_km, INITIAL_RADIUS_KM)
    return max(0.05, min(radius_km, math.sqrt(limit / (math.pi * density)) * 1.1))


def _remember_density(key, found, r) -> None:
    area = math.pi * r * r  # 0.0 for a radius under ~1e-154 km (its square underflows)
    measured = found / area if area > 0 else 0.0
    previous = _DENSITY_HINTS.get(key)
    if previous is not None:
        # Err on the dense side: a box too small costs one more query, a box too large costs many rows.
        measured = max(measured, previous * 0.7)
    elif len(_DENSITY_HINTS) >= _DENSITY_HINTS_MAX:
        _DENSITY_HINTS.clear()
    _DENSITY_HINTS[key] = measured


def _nearest_growing_box(connection, lat, lon, limit, radius_km, where_sql, where_params, columns, accept):
    key = _hint_key(lat, lon, where_sql, where_params, accept)
    r = _start_radius(key, limit, radius_km)
    extra_start = 3
    # With opening hours to check, the box may grow to the whole radius (nothing open at night) and each
    # row brings its hours: read in id order (see box_from).
    by_id = accept is not None
    # A larger box reads only what it adds to the boxes already read (`exclude`): every row is read
    # once, however many times the box grows (on a Sunday, « ouvert maintenant » within 100 km of Paris
    # at 1M lieux grew six times and read 555,000 rows for the 222,000 of its last box).
    read_boxes: list[BBox] = []
    best: list[tuple] = []  # heap of the `limit` nearest accepted rows read so far, keyed by (-distance, -id)
    distances: list[float] = []  # of every accepted row read so far
    while True:
        boxes = bboxes_for_radius(lat, lon, r)
        for row in _rows_in_boxes(connection, boxes, where_sql, where_params, columns, by_id, read_boxes):
            extras = row[extra_start:]
            # The predicate first: with opening hours it is a dictionary lookup (answers are memoised per
            # hours), cheaper than a distance, and at night or on a Sunday it rejects nearly every row.
            if accept is not None and not accept(extras):
                continue
            d = haversine_km(lat, lon, row[1], row[2])
            if d > radius_km:
                continue
            distances.append(d)
            entry = (-d, -row[0], extras)
            if len(best) < limit:
                heapq.heappush(best, entry)
            elif entry > best[0]:
                heapq.heapreplace(best, entry)
        # Every row closer than r is in the boxes read (the disc is inscribed in them): once `limit`
        # accepted rows lie within r, the `limit` nearest are known.
        found = sum(1 for d in distances if d <= r)
        if found >= limit or r >= radius_km:
            _remember_density(key, found, r)
            ordered = sorted(best, reverse=True)
            return [(-neg_id, -neg_d, *extras) for neg_d, neg_id, extras in ordered if -neg_d <= r]
        read_boxes = [old for old in read_boxes if not any(_contains(new, old) for new in boxes)] + boxes
        r = min(radius_km, r * _growth(found, limit))


def _contains(outer: BBox, inner: BBox) -> bool:
    """Whether every row of a query on `inner` is also a row of the same query on `outer`."""
    return (outer.min_lat <= inner.min_lat and inner.max_lat <= outer.max_lat
            and outer.min_lon <= inner.min_lon and inner.max_lon <= outer.max_lon)


def _growth(found: int, wanted: int) -> float:
    if found == 0:
        return MAX_GROWTH
    # Area grows with r²: aim a little beyond the radius the density suggests.
    return min(MAX_GROWTH, max(1.4, math.sqrt(wanted / found) * 1.2))


def _order(row: tuple) -> tuple[float, int]:
    return (row[1], row[0])


# --- PostgreSQL: KNN over the GiST expression index -----------------------------------------------


def _nearest_knn(connection, lat, lon, limit, radius_km, where_sql, where_params, columns, accept):
    (box,) = bboxes_for_radius(lat, lon, radius_km)
    select = _select(columns)
    sql = (
        f"{select} FROM lieux_lieu l WHERE l.latitude IS NOT NULL AND l.longitude IS NOT NULL "
        "AND l.fusionne_dans_id IS NULL "
        "AND point(l.longitude, l.latitude) <@ box(point(%s, %s), point(%s, %s))"
        f"{_and(where_sql)} ORDER BY point(l.longitude, l.latitude) <-> point(%s, %s)"
    )
    base_params = [box.min_lon, box.min_lat, box.max_lon, box.max_lat, *where_params, lon, lat]
    batch = limit * 3 + 8 if accept is None else limit * 6 + 16
    with RawCursor(connection) as cursor:
        while True:
            cursor.execute(sql + " LIMIT %s", [*base_params, batch])
            rows = cursor.fetchall()
            scan = _KnnScan(lat, lon, limit, radius_km, accept)
            if scan.read(rows, exhausted=len(rows) < batch):
                return scan.result()
            found = scan.found()
            batch *= 3 if found == 0 else max(2, min(8, math.ceil(limit / found * 1.5)))
            if batch > KNN_LIMIT_MAX:
                break
    # Still not enough (a rare filter, nothing open at night): the same scan goes on through a server-side
    # cursor, in growing chunks, skipping the rows already judged. Asking again with ever larger LIMITs,
    # as this did before, read the first rows again each time, and past a LIMIT of about a thousand
    # PostgreSQL sorts the whole box instead (it expects ~1,000 rows in any box, having no statistics
    # for it): « ouvert maintenant » within 100 km of Paris at 1M lieux asked eight times and sorted the
    # box's 221,000 rows six times. A cursor is planned for its first rows: the nearest-first scan.
    judged = {row[0] for row in rows}
    size = batch
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with transaction.atomic(using=connection.alias):
        with connection.connection.cursor(name="mednum_nearest_knn") as cursor:
            cursor.execute(sql, base_params)
            while True:
                chunk = cursor.fetchmany(size)
                if scan.read([row for row in chunk if row[0] not in judged], exhausted=len(chunk) < size,
                             last=chunk[-1] if chunk else None):
                    return scan.result()
                size = min(size * 2, FETCH_CHUNK)


# PostgreSQL: largest LIMIT asked of the nearest-first scan (a prepared query: one round trip, faster than a
# cursor, which needs a transaction, while the rows are few) before it goes on through a cursor.
KNN_LIMIT_MAX = 600


class _KnnScan:
    """The rows of a nearest-first scan (by plain Euclidean distance in degrees), read in order: which are
    accepted and within `radius_km` (distance on the ground), and whether the `limit` nearest are known."""

    __slots__ = ("lat", "lon", "limit", "radius_km", "accept", "candidates", "reach")

    def __init__(self, lat, lon, limit, radius_km, accept):
        self.lat, self.lon, self.limit, self.radius_km, self.accept = lat, lon, limit, radius_km, accept
        self.candidates: list[tuple] = []  # (id, distance_km, *extras), accepted and within the radius
        self.reach = 0.0

    def read(self, rows: list[tuple], *, exhausted: bool, last: tuple | None = None) -> bool:
        """Take the next rows of the scan (`last`: the scan's last row, when `rows` leaves some out);
        True once the answer is known."""
        lat, lon, accept, radius_km = self.lat, self.lon, self.accept, self.radius_km
        for row in rows:
            extras = row[3:]
            if accept is not None and not accept(extras):
                continue
            d = haversine_km(lat, lon, row[1], row[2])
            if d <= radius_km:
                self.candidates.append((row[0], d, *extras))
        last = last or (rows[-1] if rows else None)
        if exhausted:
            self.reach = radius_km
        elif last is not None:
            degrees = math.hypot(last[1] - lat, last[2] - lon)
            # Shrunk by a hair so that rounding differences between PostgreSQL's and Python's Euclidean
            # distance can never let a row just past the last one count as read.
            self.reach = radius_reached_by_degrees(lat, degrees * (1 - 1e-9), upper_km=radius_km)
        return exhausted or self.reach >= radius_km or self.found() >= self.limit

    def found(self) -> int:
        """Accepted rows known to be among the nearest: those within the distance the scan has covered."""
        reach = self.reach
        return sum(1 for c in self.candidates if c[1] <= reach)

    def result(self) -> list[tuple]:
        reach = self.reach
        within = [c for c in self.candidates if c[1] <= reach]
        within.sort(key=_order)
        return within[: self.limit]
