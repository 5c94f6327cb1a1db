"""Speed and memory of the import: a standard v1 CSV of N rows into a fresh database.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--file F.csv] [--batch-size N]
                                           [--no-territoires] [--no-frictionless] [--repeat N]

Generates the file with bench/generate_lieux.py (unless --file is given), then, in a child process
with a fresh temporary SQLite database (migrated, with the territories loaded unless
--no-territoires): imports it, imports it again (nothing to write), and reports the peak memory of
that process. When DATABASE_URL points to PostgreSQL, does the same in a temporary database created
on that server (and dropped afterwards). Then validates the same file with frictionless
(`frictionless.validate` with mednum/standard/data/schema-v1.0.2-corrige.json), the reference for
"reading and checking a file of the standard". The corrected schema is the standard's schema with the
`formations_labels` pattern fixed (see mednum/standard/data/PROVENANCE.md): with the upstream file,
every row holding « Étapes numériques (La Poste) » is a false error (~1 % of the generated rows), and
collecting those errors makes frictionless ~20 % slower, which would flatter the ratio.

Prints `name: value` lines:

    rows: 100000
    import_rows_per_s: …            first import (wall clock)
    reimport_rows_per_s: …          same file again, nothing written
    import_cpu_rows_per_s: …        first import, per second of CPU time of the process
    import_writer_cpu_us_per_row: … CPU of the importing process (which writes), per row; reimport_… too
    import_reader_cpu_us_per_row: … CPU of its reader process (reads, normalises), per row, when pipelined
    frictionless_validate_rows_per_s: …
    import_to_frictionless_ratio: …  import rows/s ÷ frictionless rows/s
    peak_rss_mb: …                  peak resident memory of the importing process
    reader_peak_rss_mb: …           peak resident memory of its reader process (pipelined import), 0 if none
    postgresql_…                    the same figures on PostgreSQL, when configured

The wall-clock figures depend on the machine's load; the CPU figure less so. With `--repeat N`, the
SQLite import (each time into a fresh database) and frictionless run N times, alternately, so that both
see the same moments of the machine's load; the rates printed are medians, the memory figures the
largest, and `import_to_frictionless_ratios` lists the ratio of each pair of runs
(`import_to_frictionless_ratio` is their median).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "mednum" / "standard" / "data" / "schema-v1.0.2-corrige.json"


# --- child: one database, two imports ---------------------------------------------------------------


def child(args) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mednum.settings")
    import django

    django.setup()
    from mednum.imports.engine import import_lieux

    result = {}
    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    for name in ("import", "reimport"):
        wall, cpu, reader_cpu = time.perf_counter(), time.process_time(), children_cpu()
        report = import_lieux(args.file, "bench", **({"batch_size": args.batch_size} if args.batch_size else {}))
        result[name] = {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            # The reader process (pipelined import) is this process's only child: its CPU once it has ended.
            "reader_cpu": children_cpu() - reader_cpu,
            "read": report.read,
            "created": report.created,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "fatal": report.fatal,
        }
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The pipelined import reads the file in a child process (mednum.imports.pipeline): its peak.
    result["reader_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def run_child(file: Path, env: dict, args) -> dict:
    """Prepare the fresh database (in their own processes, so that the peak memory measured is the
    import's alone), then import twice in a child process."""
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT, capture_output=True)
    if args.territoires:
        loaded = subprocess.run([*manage, "load_territoires"], env=env, cwd=ROOT, capture_output=True, text=True)
        if loaded.returncode != 0:
            print(f"# territoires non chargés : {loaded.stderr.strip()[-300:]}", file=sys.stderr)
    command = [sys.executable, __file__, "--child", "--file", str(file), "--batch-size", str(args.batch_size)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"l'import a échoué (code {done.returncode})")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def csv_file(args, work: Path) -> Path:
    """The file to import: `--file`, or `--rows` lieux generated by bench/generate_lieux.py (`--seed`)
    into the folder `work`."""
    if args.file:
        return Path(args.file).resolve()
    file = work / "lieux.csv"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_lieux.py"), "--rows", str(args.rows),
                    "--out", str(file), "--seed", str(args.seed)], check=True)
    return file


def base_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(MEDNUM_DATA_DIR=str(data_dir), MEDNUM_IGNORE_DOTENV="1", MEDNUM_GEOCODER_URL="",
               DJANGO_SETTINGS_MODULE="mednum.settings")
    return env


def postgres_env(url: str, data_dir: Path):
    """A temporary database on the server of `url`: (env for the child, cleanup function)."""
    import psycopg

    name = f"mednum_bench_{os.getpid()}"
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    head, _, _ = url.rpartition("/")
    query = url.split("?", 1)[1] if "?" in url else ""
    env = base_env(data_dir)
    env["DATABASE_URL"] = f"{head}/{name}" + (f"?{query}" if query else "")

    def cleanup():
        # The child has exited; an autovacuum worker may still be on the database after a big import.
        # A plain DROP DATABASE ends it (WITH (FORCE) would need the right to signal a superuser's
        # process); a session still closing gets a few seconds.
        for attempt in range(10):
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 9:
                    raise
                time.sleep(1)
        admin.close()

    return env, cleanup


def frictionless_rate(file: Path) -> tuple[float, int]:
    import frictionless
    from frictionless import system

    start = time.perf_counter()
    with system.use_context(trusted=True):
        report = frictionless.validate(str(file), schema=str(SCHEMA), limit_errors=10**9)
    elapsed = time.perf_counter() - start
    task = report.tasks[0]
    rows = task.stats.get("rows") or 0
    if not report.valid:
        print(f"# frictionless : {len(task.errors)} erreur(s), ex. {task.errors[0].message[:200]}", file=sys.stderr)
    return rows / elapsed if elapsed else 0.0, rows


def figures(result: dict) -> dict[str, float]:
    """The printed figures of one run of the child."""
    first, again = result["import"], result["reimport"]
    out = {
        "import_rows_per_s": first["read"] / first["wall"],
        "reimport_rows_per_s": again["read"] / again["wall"],
        "import_cpu_rows_per_s": first["read"] / first["cpu"],
        "reimport_cpu_rows_per_s": again["read"] / again["cpu"],
        "peak_rss_mb": result["peak_rss_mb"],
    }
    for label, run in (("import", first), ("reimport", again)):
        # Where the CPU goes: the importing process (writes) and its reader process (reads, normalises).
        out[f"{label}_writer_cpu_us_per_row"] = run["cpu"] * 1e6 / run["read"]
        if run.get("reader_cpu"):
            out[f"{label}_reader_cpu_us_per_row"] = run["reader_cpu"] * 1e6 / run["read"]
    if "reader_peak_rss_mb" in result:
        out["reader_peak_rss_mb"] = result["reader_peak_rss_mb"]
    return out


def print_figures(prefix: str, results: list[dict]) -> float:
    """Print the figures of one or more runs (rates: median; memory: largest); return the import rate."""
    for result in results:
        first = result["import"]
        if first["fatal"] or first["rejected"]:
            print(f"# {prefix or 'sqlite'} : {first['rejected']} ligne(s) rejetée(s) {first['fatal']}", file=sys.stderr)
    runs = [figures(result) for result in results]
    for name in runs[0]:
        values = [run[name] for run in runs]
        value = max(values) if name.endswith("_mb") else statistics.median(values)
        print(f"{prefix}{name}: {value:.0f}")
    return statistics.median(run["import_rows_per_s"] for run in runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--file", help="CSV file of the standard to use instead of a generated one")
    parser.add_argument("--batch-size", type=int, default=0, help="rows per transaction (default: the import's)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--no-territoires", dest="territoires", action="store_false")
    parser.add_argument("--no-frictionless", dest="frictionless", action="store_false")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of the SQLite import and of frictionless, alternately (medians printed)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    work = Path(tempfile.mkdtemp(prefix="mednum-bench-"))
    try:
        file = csv_file(args, work)
        results, references = [], []
        for run in range(max(1, args.repeat)):
            results.append(run_child(file, base_env(work / f"sqlite-{run}"), args))
            if args.frictionless:
                references.append(frictionless_rate(file)[0])
        print(f"rows: {results[0]['import']['read']}")
        print_figures("", results)

        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            env, cleanup = postgres_env(url, work / "pg")
            try:
                print_figures("postgresql_", [run_child(file, env, args)])
            finally:
                cleanup()

        if references:
            print(f"frictionless_validate_rows_per_s: {statistics.median(references):.0f}")
            ratios = [figures(result)["import_rows_per_s"] / reference
                      for result, reference in zip(results, references)]
            if len(ratios) > 1:
                print("import_to_frictionless_ratios: " + ", ".join(f"{ratio:.2f}" for ratio in ratios))
            print(f"import_to_frictionless_ratio: {statistics.median(ratios):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
