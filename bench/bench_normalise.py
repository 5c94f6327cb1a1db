"""Speed of the row normaliser (`mednum.standard.normalise.Normaliser.normalise`) on one core.

Rows: the 687 Hinaura demo rows (standard v0.1, mednum/lieux/data/demo/hinaura-v0.1.json) upgraded to
v1, repeated with distinct ids and slightly varied contacts and coordinates up to `--rows` (default
100,000). The commune index is built from mednum/territoires/data/communes.csv.gz (the ~35,000 communes
shipped with mednum) when present, else from the test extract. Only `normalise` is timed (the
upgrade and the mapping are measured apart and printed for information). Rates are per second of CPU
time of this process (the wall-clock rate is printed too: on a busy machine it is lower).

Run: `.venv/bin/python bench/bench_normalise.py` — prints `figure: value` lines, among them
`normalise_rows_per_s: N` (target: ≥ 60,000).
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mednum.standard.communes import CommuneIndex, CommuneInfo  # noqa: E402
from mednum.standard.mapping import Mapping  # noqa: E402
from mednum.standard.normalise import Normaliser  # noqa: E402
from mednum.standard.upgrade import upgrade_v0_record  # noqa: E402

DEMO = ROOT / "mednum" / "lieux" / "data" / "demo"
COMMUNES_CSV = ROOT / "mednum" / "territoires" / "data" / "communes.csv.gz"
COMMUNES_EXTRACT = ROOT / "tests" / "standard" / "fixtures" / "communes-extrait.json"
GIRONDE_MAPPING = ROOT / "mednum" / "imports" / "mappings" / "gironde.json"


def load_index() -> tuple[CommuneIndex, str]:
    if COMMUNES_CSV.exists():
        text = gzip.decompress(COMMUNES_CSV.read_bytes()).decode("utf-8-sig")
        communes = []
        for row in csv.DictReader(io.StringIO(text, newline="")):
            lat, lon = row.get("latitude") or "", row.get("longitude") or ""
            communes.append(
                CommuneInfo(
                    row["code"],
                    row["nom"],
                    tuple(row["codes_postaux"].split()),
                    float(lat) if lat else None,
                    float(lon) if lon else None,
                )
            )
        return CommuneIndex(communes), COMMUNES_CSV.name
    return CommuneIndex.from_records(json.loads(COMMUNES_EXTRACT.read_text(encoding="utf-8"))), COMMUNES_EXTRACT.name


def make_rows(count: int) -> list[dict]:
    base = [upgrade_v0_record(r) for r in json.loads((DEMO / "hinaura-v0.1.json").read_text(encoding="utf-8"))]
    rows = []
    for i in range(count):
        row = dict(base[i % len(base)])
        row["id"] = f"bench-{i}"
        round_ = i // len(base)
        if round_:
            # Vary what a real file varies per row (contacts, positions), keep the vocabularies.
            if row.get("telephone"):
                row["telephone"] = f"05 {56 + round_ % 3} {i % 100:02d} {(i // 100) % 100:02d} {round_ % 100:02d}"
            if row.get("courriels"):
                row["courriels"] = f"lieu{i}@exemple.fr"
            if isinstance(row.get("latitude"), float):
                row["latitude"] = row["latitude"] + (i % 7) * 1e-5
                row["longitude"] = row["longitude"] - (i % 5) * 1e-5
        rows.append(row)
    return rows


def timed(function, rows) -> tuple[float, float]:
    """(CPU time, wall time) of `function` over `rows`.

    The figures use the CPU time of this process: on a shared machine other processes would otherwise
    count; the wall time is printed too.
    """
    gc.collect()
    gc.disable()
    try:
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for row in rows:
            function(row)
        return time.process_time() - start_cpu, time.perf_counter() - start_wall
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()

    start = time.perf_counter()
    index, index_name = load_index()
    print(f"commune_index_build_s: {time.perf_counter() - start:.2f} ({len(index)} communes from {index_name})")
    rows = make_rows(args.rows)

    best = best_wall = None
    rejected = warnings = 0
    for _ in range(args.repeat):
        normaliser = Normaliser(communes=index)  # fresh caches each run
        elapsed, wall = timed(normaliser.normalise, rows)
        best = elapsed if best is None else min(best, elapsed)
        best_wall = wall if best_wall is None else min(best_wall, wall)
    for row in rows[:5000]:
        result = normaliser.normalise(row)
        rejected += bool(result.errors)
        warnings += len(result.warnings)
    print(f"rows: {len(rows)}")
    print(f"normalise_s: {best:.3f}")
    print(f"normalise_rows_per_s: {len(rows) / best:.0f}")
    print(f"normalise_rows_per_s_wall: {len(rows) / best_wall:.0f}")
    print(f"rejected_in_first_5000: {rejected}")
    print(f"warnings_in_first_5000: {warnings}")

    raw_v0 = json.loads((DEMO / "hinaura-v0.1.json").read_text(encoding="utf-8"))
    v0_rows = [raw_v0[i % len(raw_v0)] for i in range(args.rows)]
    elapsed, _wall = timed(upgrade_v0_record, v0_rows)
    print(f"upgrade_v0_rows_per_s: {len(v0_rows) / elapsed:.0f}")

    mapping = Mapping.load(GIRONDE_MAPPING)
    gironde = json.loads((DEMO / "gironde-raw.json").read_text(encoding="utf-8"))
    g_rows = [gironde[i % len(gironde)] for i in range(min(args.rows, 50_000))]
    elapsed, _wall = timed(mapping.apply, g_rows)
    print(f"mapping_gironde_rows_per_s: {len(g_rows) / elapsed:.0f}")


if __name__ == "__main__":
    main()
