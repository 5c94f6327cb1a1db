"""Memory of a gunicorn worker after serving a varied set of requests on the 1M-lieux database.

    .venv/bin/python bench/bench_memory.py [--size 1000000] [--requests 3000]
    DATABASE_URL=postgres://… .venv/bin/python bench/bench_memory.py --engine postgresql

Starts gunicorn (2 sync workers, production-like settings) on 127.0.0.1 with the synthetic database of
bench_nearest.py, sends a mix of requests from 4 client threads — searches around many points with
and without filters, "open now" and "week-end", deep pages, map views from zoom 5 to 16 all over
France, lieu pages — then reads each worker's resident memory in /proc (goal: ≤ 500 MB per worker).
Runs with persistent connections by default (CONN_MAX_AGE=600: SQLite's 64 MB page cache stays in the
worker, the worst case); `--conn-max-age -1` keeps mednum.settings as they are. `rss_file` is the part
made of database file pages (SQLite maps up to MEDNUM_SQLITE_MMAP_MB, 64 MB by default, of the file,
PRAGMA mmap_size): shared with the OS page cache, not owned by the worker. Prints `figure: value` lines.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_nearest  # noqa: E402
from bench_api_throughput import Gunicorn, prepare  # noqa: E402

SERVICES = list(bench_nearest.SERVICE_WEIGHTS)


def request_mix(count: int, size: int, seed: int = 5) -> list[str]:
    from bench_map_payload import viewport_bbox

    rng = random.Random(seed)
    points = bench_nearest.query_points(max(200, count // 3), seed=seed)
    paths = []
    for i in range(count):
        lat, lon = rng.choice(points)
        kind = i % 10
        if kind < 5:
            params = {"lat": lat, "lon": lon, "taille": rng.choice([10, 20, 50, 100])}
            if rng.random() < 0.7:
                params["services"] = rng.sample(SERVICES, rng.randint(1, 2))
            if rng.random() < 0.5:
                params["frais_a_charge"] = "Gratuit"
            if rng.random() < 0.2:
                params["ouvert_maintenant"] = "true"
            if rng.random() < 0.1:
                params["ouvert_week_end"] = "true"
            if rng.random() < 0.2:
                params["page"] = rng.randint(2, 5)
            if rng.random() < 0.2:
                params["rayon_km"] = rng.choice([5, 20, 50, 100])
            paths.append("/api/v1/lieux?" + urlencode(params, doseq=True))
        elif kind < 8:
            zoom = rng.choice([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
            params = {"bbox": viewport_bbox(lat, lon, zoom, 1280, 800), "z": zoom}
            if rng.random() < 0.3:
                params["services"] = rng.choice(SERVICES)
            paths.append("/api/v1/carte?" + urlencode(params))
        elif kind < 9:
            paths.append(f"/api/v1/lieux/{rng.randint(1, size)}")
        else:
            paths.append("/api/v1/lieux.geojson?" + urlencode({"lat": lat, "lon": lon, "taille": 50}))
    return paths


def rss(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--conn-max-age", type=int, default=600,
                        help="persistent connections (keeps SQLite's page cache: the worst case); -1 = settings as they are")
    args = parser.parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "").strip()
    env = prepare(args.engine, args.size, base_url, None if args.conn_max_age < 0 else args.conn_max_age)
    paths = request_mix(args.requests, args.size)
    statuses: dict[int, int] = {}
    timings: dict[str, list[float]] = {}
    lock = threading.Lock()
    prefix = f"memory_{args.engine}_{args.size}"
    with Gunicorn(env, 2) as server:
        before = {pid: rss(pid) for pid in server.worker_pids()}

        def run(chunk):
            for path in chunk:
                kind = path.split("?")[0]
                kind = "/lieu" if kind[-1].isdigit() else kind
                if "ouvert_" in path:
                    kind += "+horaires"
                began = time.perf_counter()
                try:
                    with urllib.request.urlopen(server.base + path, timeout=60) as response:
                        response.read()
                        status = response.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    timings.setdefault(kind, []).append((time.perf_counter() - began) * 1000)

        started = time.perf_counter()
        threads = [threading.Thread(target=run, args=(paths[i :: args.threads],)) for i in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        after = {pid: rss(pid) for pid in server.worker_pids()}
    worst = max(after.values(), key=lambda v: v["VmRSS"])
    print(f"{prefix}_requests: {len(paths)}")
    print(f"{prefix}_seconds: {elapsed:.1f}")
    print(f"{prefix}_statuses: {' '.join(f'{k}={v}' for k, v in sorted(statuses.items()))}")
    for kind, values in sorted(timings.items()):
        values.sort()
        name = kind.strip("/").replace("api/v1/", "").replace("/", "_").replace(".", "_").replace("+", "_")
        print(f"{prefix}_{name}_p50_ms: {values[len(values) // 2]:.1f}")
        print(f"{prefix}_{name}_max_ms: {values[-1]:.1f}")
    print(f"{prefix}_worker_rss_start_mb: {max(v['VmRSS'] for v in before.values()) / 1e6:.0f}")
    print(f"{prefix}_worker_rss_mb: {worst['VmRSS'] / 1e6:.0f}")
    print(f"{prefix}_worker_rss_peak_mb: {max(v['VmHWM'] for v in after.values()) / 1e6:.0f}")
    print(f"{prefix}_worker_rss_anon_mb: {worst.get('RssAnon', 0) / 1e6:.0f}")
    print(f"{prefix}_worker_rss_file_mb: {worst.get('RssFile', 0) / 1e6:.0f}")
    # 422 is expected for some deep pages (beyond the last page of a sparse area).
    return 0 if set(statuses) <= {200, 422} else 1


if __name__ == "__main__":
    sys.exit(main())
