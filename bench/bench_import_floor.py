"""The floor of an import's writes on SQLite: what the database alone costs per row.

    .venv/bin/python bench/bench_import_floor.py [--rows 100000] [--file F.csv] [--repeat 3]

Imports the file once (bench/generate_lieux.py makes it unless --file is given) into a fresh database
with the territories, reads back the lieux and source records it wrote, then inserts those same rows,
already built in memory, into a copy of the database as it was before the import, the way the import
writes them: the connection's PRAGMAs of mednum.settings and of the import, the import's batch size,
the spatial index (R*Tree and `geo_lieu_point`) filled at the end of each batch, foreign keys checked. No reading, no
normalisation, no Python per row beyond the parameters: an import cannot write faster than this.

Prints `name: value` lines (medians over --repeat runs, and each run):

    rows: 100000
    write_floor_rows_per_s: …                  lieux + source records + spatial index
    write_floor_cpu_us_per_row: …
    write_floor_without_records_rows_per_s: …  the same without the source records
    write_floor_without_rtree_rows_per_s: …    the same without the spatial index

The two partial figures show what each mandatory part costs (every lieu keeps its source record, and
the spatial index serves every search); neither is a way to import.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_import  # noqa: E402

ROOT = bench_import.ROOT


def _copy_database(source: Path, target: Path) -> None:
    """A single-file copy (the write-ahead log folded in) of the SQLite database `source`."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _write(target: Path, pragmas: list[str], lieux: list, records: list, lieu_columns: list[str],
           record_columns: list[str], batch_size: int, *, with_records: bool, with_rtree: bool) -> tuple[float, float]:
    """Insert the prebuilt rows into `target`; (rows per second, CPU microseconds per row)."""
    from mednum.geo import spatial_index

    db = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in pragmas:
            db.execute(pragma)
        db.execute(f"DROP TRIGGER {spatial_index.SQLITE_INSERT_TRIGGER}")  # as the import does, per batch
        insert_lieu = (f"INSERT INTO lieux_lieu ({', '.join(lieu_columns)}) "
                       f"VALUES ({', '.join('?' * len(lieu_columns))})")
        insert_record = (f"INSERT INTO lieux_sourcerecord ({', '.join(record_columns)}) "
                         f"VALUES ({', '.join('?' * len(record_columns))})")
        fill_rtree = (
            f"INSERT OR REPLACE INTO {spatial_index.RTREE_TABLE} (id, min_lat, max_lat, min_lon, max_lon) "
            f"SELECT id, latitude, latitude, longitude, longitude FROM lieux_lieu "
            f"WHERE id > ? AND {spatial_index.ELIGIBLE} ORDER BY latitude, longitude"
        )
        fill_points = f"{spatial_index.SQLITE_FILL_POINTS} AND id > ?"
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(lieux), batch_size):
            db.execute("BEGIN IMMEDIATE")
            batch = lieux[start:start + batch_size]
            db.executemany(insert_lieu, batch)
            if with_records:
                db.executemany(insert_record, records[start:start + batch_size])
            if with_rtree:
                db.execute(fill_rtree, [batch[0][0] - 1])
                db.execute(fill_points, [batch[0][0] - 1])
            db.execute("COMMIT")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        db.close()
    return len(lieux) / wall, cpu * 1e6 / len(lieux)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--file", help="CSV file of the standard to use instead of a generated one")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="mednum-bench-floor-"))
    try:
        file = bench_import.csv_file(args, work)
        env = bench_import.base_env(work / "data")
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT,
                       capture_output=True)
        subprocess.run([*manage, "load_territoires"], env=env, check=True, cwd=ROOT, capture_output=True)
        database = work / "data" / "mednum.sqlite3"
        empty = work / "before-import.sqlite3"
        _copy_database(database, empty)
        imported = subprocess.run([*manage, "import_lieux", str(file), "--source", "bench"], env=env, cwd=ROOT,
                                  capture_output=True, text=True)
        if imported.returncode != 0:
            sys.stderr.write(imported.stdout[-2000:] + imported.stderr[-2000:])
            raise SystemExit(f"l'import a échoué (code {imported.returncode})")

        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings

        from mednum.imports import engine

        init = settings.DATABASES["default"]["OPTIONS"]["init_command"]
        pragmas = [p.strip() for p in init.split(";") if p.strip()]
        pragmas += ["PRAGMA foreign_keys=ON", "PRAGMA mmap_size=0", "PRAGMA ignore_check_constraints=ON",
                    f"PRAGMA wal_autocheckpoint={engine.IMPORT_WAL_AUTOCHECKPOINT}"]

        source = sqlite3.connect(database)
        lieu_columns = [row[1] for row in source.execute("PRAGMA table_info(lieux_lieu)")]
        record_columns = [row[1] for row in source.execute("PRAGMA table_info(lieux_sourcerecord)")]
        lieux = source.execute(f"SELECT {', '.join(lieu_columns)} FROM lieux_lieu ORDER BY id").fetchall()
        records = source.execute(
            f"SELECT {', '.join(record_columns)} FROM lieux_sourcerecord ORDER BY lieu_id").fetchall()
        source.close()
        print(f"rows: {len(lieux)}")

        variants = (("write_floor", True, True), ("write_floor_without_records", False, True),
                    ("write_floor_without_rtree", True, False))
        measured: dict[str, list[tuple[float, float]]] = {name: [] for name, _r, _t in variants}
        target = work / "floor.sqlite3"
        for _run in range(max(1, args.repeat)):
            for name, with_records, with_rtree in variants:
                for path in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
                    path.unlink(missing_ok=True)
                shutil.copy(empty, target)
                measured[name].append(_write(target, pragmas, lieux, records, lieu_columns, record_columns,
                                             engine.BATCH_SIZE, with_records=with_records, with_rtree=with_rtree))
        for name, runs in measured.items():
            print(f"{name}_rows_per_s: {statistics.median(r for r, _c in runs):.0f}")
            if name == "write_floor":
                print(f"{name}_cpu_us_per_row: {statistics.median(c for _r, c in runs):.1f}")
                print(f"{name}_runs_rows_per_s: " + ", ".join(f"{r:.0f}" for r, _c in runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
