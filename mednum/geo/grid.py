"""Map aggregation on the server: counts per territory (low zoom) and grid clusters (middle zoom).

Pixels are Web Mercator pixels of 256-pixel tiles (what MapLibre uses): at zoom z the world is
256 × 2^z pixels wide. A grid cell is `cell_px` pixels on screen; cells are anchored on the world's
origin, so a lieu stays in the same cell while the map pans and clusters do not jump.

Clusters are computed in SQL (GROUP BY cell) on the rows the spatial index finds in the box. Longitude
maps linearly to pixels; latitude does not (Mercator): the row of a lieu is found by comparing its
latitude with the rows' boundary latitudes (nested CASE, no math functions needed in SQLite). When a
Python predicate (opening hours) must run, rows are read and grouped in Python with the same comparisons.

A cluster's centre is the mean of its lieux's positions, summed as whole micro-degrees (`MICRO`): integer
sums do not depend on the order in which a plan reads the rows, so the same lieux give the same centre
through every path and on both databases (sums of floats could differ in their last bit, and the rounded
centre by 1e-5°). A lieu alone in its cell keeps its exact position.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Sequence

from django.db import connections

from .distance import BBox
from . import spatial_index
from .nearest import RawCursor, box_from

TILE_PX = 256
MICRO = 1_000_000  # positions are summed in millionths of a degree (~0.1 m)
MAX_MERCATOR_LAT = 85.05112878


def micro(degrees: float) -> int:
    """Whole micro-degrees, as the SQL of `_micro_sql` computes them (truncation of x·10⁶ + 0.5)."""
    return int(degrees * MICRO + 0.5)


def _micro_sql(connection, column: str) -> str:
    if connection.vendor == "postgresql":
        return f"trunc({column} * {MICRO}.0 + 0.5)::integer"  # sum(integer) is a bigint
    return f"CAST({column} * {MICRO}.0 + 0.5 AS INTEGER)"  # truncation toward zero, like Python's int()


def world_px(zoom: int) -> float:
    return TILE_PX * (2**zoom)


def x_px(lon: float, zoom: int) -> float:
    return (lon + 180.0) / 360.0 * world_px(zoom)


def y_px(lat: float, zoom: int) -> float:
    lat = max(-MAX_MERCATOR_LAT, min(MAX_MERCATOR_LAT, lat))
    phi = math.radians(lat)
    return (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * world_px(zoom)


def lat_of_y(y: float, zoom: int) -> float:
    n = math.pi * (1.0 - 2.0 * y / world_px(zoom))
    return math.degrees(math.atan(math.sinh(n)))


def bbox_pixels(bbox: BBox, zoom: int) -> tuple[float, float]:
    """Width and height of a box on screen at `zoom`, in pixels."""
    return (
        x_px(bbox.max_lon, zoom) - x_px(bbox.min_lon, zoom),
        y_px(bbox.min_lat, zoom) - y_px(bbox.max_lat, zoom),
    )


def _snap_to_cells(bbox: BBox, zoom: int, cell_px: int) -> BBox:
    """The box grown to whole cells, so that the counts of border cells do not depend on the view."""
    cell_lon = cell_px * 360.0 / world_px(zoom)
    min_lon = max(-180.0, math.floor((bbox.min_lon + 180.0) / cell_lon) * cell_lon - 180.0)
    max_lon = min(180.0, math.ceil((bbox.max_lon + 180.0) / cell_lon) * cell_lon - 180.0)
    top = math.floor(y_px(bbox.max_lat, zoom) / cell_px) * cell_px
    bottom = math.ceil(y_px(bbox.min_lat, zoom) / cell_px) * cell_px
    max_lat = min(90.0, lat_of_y(top, zoom)) if top > 0 else 90.0
    min_lat = max(-90.0, lat_of_y(bottom, zoom)) if bottom < world_px(zoom) else -90.0
    return BBox(min_lat, max_lat, min_lon, max_lon)


class _Grid:
    """Cell numbering for one box and zoom: columns by longitude (linear), rows by Mercator latitude.

    Row boundaries are the latitudes of the pixel rows k × cell_px; the same comparisons run in SQL
    (a binary search written as nested CASE, plain comparisons only) and in Python (bisect), so both
    put every lieu in the same cell.
    """

    def __init__(self, box: BBox, zoom: int, cell_px: int):
        self.cell_lon = cell_px * 360.0 / world_px(zoom)
        first = int(y_px(box.max_lat, zoom) // cell_px)
        last = int(y_px(box.min_lat, zoom) // cell_px)
        self.first_row = first
        # Latitudes between row k and k+1 for k in first…last-1 (decreasing), then ascending for bisect.
        self.ascending = sorted(lat_of_y((k + 1) * cell_px, zoom) for k in range(first, last))

    def column(self, lon: float) -> int:
        return int((lon + 180.0) / self.cell_lon)

    def row(self, lat: float) -> int:
        return self.first_row + len(self.ascending) - bisect.bisect_right(self.ascending, lat)

    def row_sql(self, column: str) -> str:
        values = self.ascending

        def search(lo: int, hi: int) -> str:
            if lo == hi:
                return str(self.first_row + len(values) - lo)
            mid = (lo + hi) // 2
            return f"CASE WHEN {column} < {values[mid]!r} THEN {search(lo, mid)} ELSE {search(mid + 1, hi)} END"

        return search(0, len(values))


def grid_clusters(
    bbox: BBox,
    zoom: int,
    cell_px: int,
    where_sql: str = "",
    where_params: Sequence = (),
    accept: Callable[[tuple], bool] | None = None,
    accept_columns: Sequence[str] = (),
    *,
    using: str = "default",
    rows_in: Callable[[BBox], list[tuple]] | None = None,
) -> tuple[list[tuple[float, float, int]], list[tuple[int, float, float, str]]]:
    """Clusters `(lat, lon, count)` (centre of mass) and lone points `(id, lat, lon, typologie)` in the box.

    With `accept`, `rows_in(box)` may give the candidate rows `(id, lat, lon, typologie, *accept_columns)`
    of a box (all those that can pass `accept`, and that match `where_sql`) instead of the box's query."""
    connection = connections[using]
    box = _snap_to_cells(bbox, zoom, cell_px)
    cells_of = _Grid(box, zoom, cell_px)
    from_sql, params = box_from(connection, box, by_id=True)  # whole boxes of lieux: read in id order
    condition = f" AND ({where_sql})" if where_sql else ""
    cells: dict[tuple[int, int], list] = {}
    if accept is not None:
        if rows_in is not None:
            rows = rows_in(box)
        else:
            columns = ", ".join(accept_columns)
            sql = f"SELECT l.id, l.latitude, l.longitude, l.typologie, {columns}{from_sql}{condition}"
            with connection.cursor() as cursor:
                cursor.execute(sql, params + list(where_params))
                rows = cursor.fetchall()
        for row in rows:
            if accept(row[4:]):
                key = (cells_of.column(row[2]), cells_of.row(row[1]))
                _add(cells, key, 1, micro(row[1]), micro(row[2]), row[0], row[3], row[1], row[2])
    elif not where_sql and connection.vendor == "sqlite" and spatial_index.has_rtree(connection):
        # No filter: the R*Tree alone has every position (32-bit floats; the middle of a point's tiny box
        # is within centimetres of the real value). Reading lieux_lieu rows would cost 5× more at 1M.
        lat, lon = "((r.min_lat + r.max_lat) / 2)", "((r.min_lon + r.max_lon) / 2)"
        sql = (
            f"SELECT gx, gy, count(*), sum({_micro_sql(connection, 'lat')}), sum({_micro_sql(connection, 'lon')}), "
            "min(id), NULL, min(lat), min(lon) FROM ("
            f"SELECT CAST(({lon} + 180.0) / ? AS INTEGER) AS gx, {cells_of.row_sql(lat)} AS gy, "
            f"{lat} AS lat, {lon} AS lon, r.id AS id FROM {spatial_index.RTREE_TABLE} r "
            "WHERE r.max_lat >= ? AND r.min_lat <= ? AND r.max_lon >= ? AND r.min_lon <= ?"
            f" AND {lat} BETWEEN ? AND ? AND {lon} BETWEEN ? AND ?) t GROUP BY gx, gy"
        )
        limits = [box.min_lat, box.max_lat, box.min_lon, box.max_lon]
        with RawCursor(connection) as cursor:
            cursor.execute_native(sql, [cells_of.cell_lon, *limits, *limits])
            rows = cursor.fetchall()
        for gxv, gyv, *sums in rows:
            _add(cells, (int(gxv), int(gyv)), *sums)
        _exact_singletons(connection, cells)
    else:
        if connection.vendor == "postgresql":
            gx = "floor((l.longitude + 180.0) / %s)::bigint"
        else:  # the value is ≥ 0, so truncation is floor
            gx = "CAST((l.longitude + 180.0) / %s AS INTEGER)"
        gy = cells_of.row_sql("l.latitude")
        sql = (
            f"SELECT gx, gy, count(*), sum({_micro_sql(connection, 'lat')}), sum({_micro_sql(connection, 'lon')}), "
            "min(id), min(typ), min(lat), min(lon) FROM ("
            f"SELECT {gx} AS gx, {gy} AS gy, l.latitude AS lat, l.longitude AS lon, l.id AS id, "
            f"l.typologie AS typ{from_sql}{condition}) t GROUP BY gx, gy"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [cells_of.cell_lon, *params, *where_params])
            rows = cursor.fetchall()
        for gxv, gyv, *sums in rows:
            _add(cells, (int(gxv), int(gyv)), *sums)
    clusters, points = [], []
    for key in sorted(cells):
        count, sum_lat, sum_lon, one_id, typ, lat, lon = cells[key]
        if count == 1:
            points.append((one_id, lat, lon, typ or ""))
        else:
            clusters.append((int(sum_lat) / count / MICRO, int(sum_lon) / count / MICRO, count))
    points.sort(key=lambda p: p[0])
    return clusters, points


def _exact_singletons(connection, cells) -> None:
    """Exact position and typology of the lieux alone in their cell (they are drawn as points)."""
    lone = {cell[3]: key for key, cell in cells.items() if cell[0] == 1}
    ids = list(lone)
    with RawCursor(connection) as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor.execute(
                f"SELECT id, latitude, longitude, typologie FROM lieux_lieu WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for id_, lat, lon, typ in cursor.fetchall():
                cells[lone[id_]][3:] = [id_, typ, lat, lon]


def _add(cells, key, count, sum_lat, sum_lon, one_id, typ, lat, lon):
    """Adds `count` lieux to a cell: sums in micro-degrees; (one_id, typ, lat, lon) say where a lone lieu is."""
    cell = cells.get(key)
    if cell is None:
        cells[key] = [count, sum_lat, sum_lon, one_id, typ, lat, lon]
    else:
        cell[0] += count
        cell[1] += sum_lat
        cell[2] += sum_lon


# --- circles that would overlap on the map --------------------------------------------------------

# The circles the map draws (mednum/static/lieux/carte.js, layers « groupes » and « lieux »): a cluster of
# n lieux has a radius interpolated linearly on √n between these stops (√n → pixels), a lone lieu at most
# RAYON_LIEU_PX; each has a white outline of CONTOUR_PX.
RAYONS_GRAPPE_PX = ((1.0, 12.0), (10.0, 22.0), (40.0, 34.0))
RAYON_LIEU_PX = 8.0
CONTOUR_PX = 2.0
# The map asks for the zoom level round(its own zoom + 1) (its tiles are 512 pixels): on screen, distances
# may be up to √2 shorter than at that level.
ECHELLE_MIN = 2**-0.5


def rayon_grappe_px(count: int) -> float:
    """Radius on the map of the circle of a cluster of `count` lieux (as carte.js draws it)."""
    racine = math.sqrt(count)
    (x0, y0) = RAYONS_GRAPPE_PX[0]
    if racine <= x0:
        return y0
    for x1, y1 in RAYONS_GRAPPE_PX[1:]:
        if racine <= x1:
            return y0 + (y1 - y0) * (racine - x0) / (x1 - x0)
        x0, y0 = x1, y1
    return y0


class _Cercle:
    """A circle of the map while merging: Σ lat·n, Σ lon·n, n, what it stands for, where it is drawn."""

    __slots__ = ("somme_lat", "somme_lon", "nombre", "membres", "seul", "x", "y", "rayon", "cle")

    def __init__(self, lat: float, lon: float, nombre: int, membre, seul: bool):
        self.somme_lat, self.somme_lon, self.nombre = lat * nombre, lon * nombre, nombre
        self.membres = [membre]  # the lone lieux, clusters or territories it holds
        self.seul = seul  # a lone lieu (drawn smaller), until merged
        self.cle = (-nombre, lat, lon, str(membre))

    def placer(self, zoom: int) -> None:
        self.x = x_px(self.somme_lon / self.nombre, zoom)
        self.y = y_px(self.somme_lat / self.nombre, zoom)
        self.rayon = RAYON_LIEU_PX if self.seul else rayon_grappe_px(self.nombre)

    def absorber(self, autre: _Cercle) -> None:
        self.somme_lat += autre.somme_lat
        self.somme_lon += autre.somme_lon
        self.nombre += autre.nombre
        self.membres += autre.membres
        self.seul = False


def _reunir(cercles: list[_Cercle], zoom: int) -> list[_Cercle]:
    """Circles that would overlap, merged (the biggest take their neighbours first), again until no two
    overlap at the smallest scale the map may show this zoom level at. The result depends only on the
    circles, not on their order."""
    for cercle in cercles:
        cercle.placer(zoom)
    cercles = sorted(cercles, key=lambda c: c.cle)
    case = (2 * rayon_grappe_px(10**9) + 2 * CONTOUR_PX) / ECHELLE_MIN  # the farthest two circles may touch
    fusion = len(cercles) > 1
    while fusion:
        fusion = False
        cases: dict[tuple[int, int], list[int]] = {}
        for index, cercle in enumerate(cercles):
            cases.setdefault((int(cercle.x // case), int(cercle.y // case)), []).append(index)
        absorbes: set[int] = set()
        for index, cercle in enumerate(cercles):
            if index in absorbes:
                continue
            x, y = cercle.x, cercle.y
            cx, cy = int(x // case), int(y // case)
            voisins = sorted(j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in cases.get((cx + dx, cy + dy), ())
                             if j > index and j not in absorbes)
            grandi = False
            for j in voisins:
                autre = cercles[j]
                limite = (cercle.rayon + autre.rayon + 2 * CONTOUR_PX) / ECHELLE_MIN
                if (autre.x - x) ** 2 + (autre.y - y) ** 2 < limite * limite:
                    cercle.absorber(autre)
                    absorbes.add(j)
                    grandi = fusion = True
            if grandi:
                cercle.placer(zoom)  # its new centre and size, for the next pass
        if fusion:
            cercles = [c for index, c in enumerate(cercles) if index not in absorbes]
    return cercles


def merge_overlapping(
    clusters: list[tuple[float, float, int]], points: list[tuple[int, float, float, str]], zoom: int
) -> tuple[list[tuple[float, float, int]], list[tuple[int, float, float, str]]]:
    """Clusters and lone lieux whose circles would overlap on the map, merged into one cluster.

    Grid cells are anchored on the world, and a cluster sits at the mean position of its lieux: two
    neighbouring cells may put their circles, and their counts, on top of each other, unreadable. Their
    lieux are then counted in one cluster at their mean position (weighted by their counts)."""
    cercles = [_Cercle(lat, lon, n, None, False) for lat, lon, n in clusters]
    cercles += [_Cercle(point[1], point[2], 1, point, True) for point in points]
    if len(cercles) < 2:
        return clusters, points
    cercles = _reunir(cercles, zoom)
    merged = sorted((c.somme_lat / c.nombre, c.somme_lon / c.nombre, c.nombre) for c in cercles if not c.seul)
    lone = sorted((c.membres[0] for c in cercles if c.seul), key=lambda p: p[0])
    return merged, lone


def merge_overlapping_territories(territoires: list[list], zoom: int) -> list[list]:
    """Territories `[code, nom, lat, lon, nombre]` whose circles would overlap on the map (Paris and its
    neighbouring départements), merged into one: codes and names joined by commas, counts added, at
    their mean position weighted by their counts. Territories with no lieu (not drawn) stay as they are.
    Sorted by (first) code."""
    cercles = [_Cercle(t[2], t[3], t[4], t, False) for t in territoires if t[4] > 0]
    vides = [t for t in territoires if t[4] <= 0]
    out = []
    for cercle in _reunir(cercles, zoom):
        if len(cercle.membres) == 1:
            out.append(cercle.membres[0])
            continue
        membres = sorted(cercle.membres, key=lambda t: t[0])
        out.append([
            ",".join(t[0] for t in membres), ", ".join(t[1] for t in membres),
            cercle.somme_lat / cercle.nombre, cercle.somme_lon / cercle.nombre, cercle.nombre,
        ])
    return sorted(out + vides, key=lambda t: t[0])


# --- counts per territory --------------------------------------------------------------------------

_TERRITORIES: dict[str, tuple[float, tuple, dict]] = {}
TERRITORIES_TTL = 600.0


def territories(using: str = "default") -> dict:
    """Commune → (département, région), names and centres of départements and régions (cached 10 min).

    A territory's centre is the mean position of its communes (their town halls). Reloaded when the
    tables' row counts change, and at least every 10 minutes.
    """
    now = time.monotonic()
    with connections[using].cursor() as cursor:
        # A cheap fingerprint of the tables: a reload that adds or removes rows is seen at once.
        cursor.execute(
            "SELECT (SELECT count(*) FROM territoires_commune), (SELECT max(code) FROM territoires_commune), "
            "(SELECT count(*) FROM territoires_departement), (SELECT count(*) FROM territoires_region)"
        )
        fingerprint = cursor.fetchone()
        hit = _TERRITORIES.get(using)
        if hit and now - hit[0] < TERRITORIES_TTL and hit[1] == fingerprint:
            return hit[2]
        cursor.execute("SELECT code, departement_id, region_id, latitude, longitude FROM territoires_commune")
        communes = cursor.fetchall()
        cursor.execute("SELECT code, nom, region_id FROM territoires_departement")
        departements = {code: (nom, region) for code, nom, region in cursor.fetchall()}
        cursor.execute("SELECT code, nom FROM territoires_region")
        regions = dict(cursor.fetchall())
    commune_map = {}
    sums: dict[tuple[str, str], list[float]] = {}
    for code, dep, reg, lat, lon in communes:
        commune_map[code] = (dep, reg)
        if lat is None or lon is None:
            continue
        for key in (("departements", dep), ("regions", reg)):
            acc = sums.setdefault(key, [0.0, 0.0, 0])
            acc[0] += lat
            acc[1] += lon
            acc[2] += 1
    centres = {key: (acc[0] / acc[2], acc[1] / acc[2]) for key, acc in sums.items()}
    data = {"communes": commune_map, "departements": departements, "regions": regions, "centres": centres}
    _TERRITORIES[using] = (now, fingerprint, data)
    return data


def forget_territories() -> None:
    _TERRITORIES.clear()


def _departement_of_code(code: str) -> str:
    return code[:3] if code.startswith(("97", "98")) else code[:2]


def _territory_rows(where_sql: str, where_params: Sequence, accept_columns: Sequence[str], using: str) -> list[tuple]:
    """`(commune_id, code_insee, count, *accept_columns)` for the lieux on the map matching `where_sql`."""
    condition = f" AND ({where_sql})" if where_sql else ""
    key = ", ".join(("l.commune_id", "l.code_insee", *accept_columns))
    sql = (
        f"SELECT l.commune_id, l.code_insee, count(*){''.join(', ' + c for c in accept_columns)} FROM lieux_lieu l "
        f"WHERE l.fusionne_dans_id IS NULL AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL{condition} "
        f"GROUP BY {key}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, list(where_params))
        return cursor.fetchall()


def territory_counts(
    niveau: str,
    where_sql: str = "",
    where_params: Sequence = (),
    accept: Callable[[tuple], bool] | None = None,
    accept_columns: Sequence[str] = (),
    *,
    using: str = "default",
    rows: list[tuple] | None = None,
) -> list[tuple[str, str, float, float, int]]:
    """`(code, nom, lat, lon, nombre)` per région (`niveau="regions"`) or département, for lieux on the map.

    One GROUP BY (commune, INSEE code) over the lieux on the map. With or without filters on the
    standard's lists it reads only the partial index `lieu_carte_commune_idx`, which holds every filter's
    mask; with an opening-hours filter, the table (callers cache the answer per data version). A lieu
    counts in its commune, or failing a link to one, by its INSEE code. `rows`, when given, are the rows
    to count instead: `(commune_id, code_insee, count, *accept_columns)`, matching `where_sql`.
    """
    data = territories(using)
    if rows is None:
        rows = _territory_rows(where_sql, where_params, accept_columns if accept is not None else (), using)
    communes, departements = data["communes"], data["departements"]
    counts: dict[str, int] = {}
    for row in rows:
        code, count = row[0] or row[1], row[2]
        if not code or (accept is not None and not accept(row[3:])):
            continue
        territory = communes.get(code)
        if territory is None:
            dep = _departement_of_code(code)
            region = departements.get(dep, (None, None))[1]
            territory = (dep, region)
        target = territory[1] if niveau == "regions" else territory[0]
        if target:
            counts[target] = counts.get(target, 0) + count
    names = data["regions"] if niveau == "regions" else {c: v[0] for c, v in departements.items()}
    out = []
    for code in sorted(counts):
        centre = data["centres"].get((niveau, code))
        if centre is None:
            continue
        out.append((code, names.get(code, code), centre[0], centre[1], counts[code]))
    return out
