"""Throughput of the lieux search next to a hello-world endpoint, through gunicorn, with wrk.

    .venv/bin/python bench/bench_api_throughput.py [--size 100000] [--duration 10] [--connections 8]
    DATABASE_URL=postgres://… .venv/bin/python bench/bench_api_throughput.py --engine postgresql

Starts gunicorn (2 sync workers, production-like settings: DEBUG off) on 127.0.0.1 with a synthetic
database of bench_nearest.py, then runs `wrk` (Debian package `wrk`) for a bounded time against
* `/api/v1/sante` — `{"status": "ok"}`, no database: the cost of gunicorn + Django + Ninja alone;
* `/api/v1/lieux?lat=…&lon=…&services=…&frais_a_charge=Gratuit` — a different point of France for every
  request (1,000 points drawn like the people who search), nearest 20 with two filters.
Prints both throughputs and their ratio (goal ≥ 0.7), latencies, and non-2xx counts. Loopback only;
gunicorn is stopped at the end.

Two configurations are measured (`--settings`): `defaut` = mednum.settings as they are (persistent
database connections: MEDNUM_CONN_MAX_AGE, 600 s by default), and `persistant` = CONN_MAX_AGE=600 set
explicitly, which is the same unless the environment changes the default (a connection opened for
every request costs ~3 ms with a cold page cache).

`--bound nearest` or `--bound search` serves bench/api_bounds_wsgi.py instead of mednum.wsgi: the same
site with the nearest-lieux step (resp. the whole search and its JSON) answered from memory. The
throughput is then an upper bound for any spatial index (resp. any search): it tells how much of the gap
to the goal a faster search could close.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_nearest  # noqa: E402

ROOT = bench_nearest.ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(engine: str, size: int, base_url: str, conn_max_age: int | None = None) -> dict[str, str]:
    """Build the database if needed (in a child process) and return the environment for gunicorn."""
    env = bench_nearest.bench_env(engine, size, base_url, conn_max_age=conn_max_age)
    if engine == "postgresql":
        bench_nearest.create_postgres_database(base_url, size)
    code = (
        "import sys, django; sys.path.insert(0, %r); django.setup(); "
        "import bench_nearest; bench_nearest.build(%d)" % (str(Path(__file__).resolve().parent), size)
    )
    subprocess.check_call([sys.executable, "-c", code], env=env, cwd=str(ROOT))
    return env


class Gunicorn:
    """gunicorn with `workers` sync workers on a free loopback port; a context manager."""

    def __init__(self, env: dict[str, str], workers: int = 2, app: str = "mednum.wsgi:application"):
        self.env = env
        self.workers = workers
        self.app = app
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = [str(gunicorn), self.app, "--workers", str(self.workers), "--worker-class", "sync",
               "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "60"]
        log = bench_nearest.BENCH_DIR / "gunicorn.log"
        self._log = open(log, "a", encoding="utf-8")  # access to 4xx is logged by Django: keep it out of the figures
        self.process = subprocess.Popen(cmd, env=self.env, cwd=str(ROOT), stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/sante", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn ne répond pas")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()


def lieux_paths(count: int = 1000) -> list[str]:
    paths = []
    for lat, lon in bench_nearest.query_points(count, seed=11):
        query = urlencode({"lat": lat, "lon": lon, "services": bench_nearest.SERVICE,
                           "frais_a_charge": bench_nearest.FRAIS, "taille": 20})
        paths.append(f"/api/v1/lieux?{query}")
    return paths


def wrk(base: str, paths: list[str], duration: int, connections: int, threads: int = 2) -> dict:
    """Run wrk, one random path per request; returns requests/s, latencies (ms) and error counts."""
    lua = "paths = {\n" + ",\n".join('"' + p.replace('"', '\\"') + '"' for p in paths) + "\n}\n"
    lua += (
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        "  return wrk.format('GET', paths[(counter % #paths) + 1])\n"
        "end\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
        script = handle.name
    try:
        cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency", "-s", script, base]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    finally:
        os.unlink(script)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "raw": out}
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if match:
            value, unit = float(match.group(1)), match.group(2)
            result[f"p{pct}_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors:.*", out)
    result["socket_errors"] = errors.group(0) if errors else ""
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (bounded)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settings", default="defaut,persistant", help="defaut, persistant or both (comma)")
    parser.add_argument("--bound", choices=["nearest", "search"], default=None,
                        help="serve bench/api_bounds_wsgi.py: that part of the search answered from memory")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk est introuvable : apt-get install -y wrk", file=sys.stderr)
        return 2
    base_url = os.environ.get("DATABASE_URL", "").strip()
    if args.engine == "postgresql" and not base_url:
        print("DATABASE_URL (PostgreSQL) est nécessaire avec --engine postgresql", file=sys.stderr)
        return 2
    paths = lieux_paths()
    status = 0
    for variant in [v for v in args.settings.split(",") if v]:
        env = prepare(args.engine, args.size, base_url, 600 if variant == "persistant" else None)
        prefix = f"throughput_{args.engine}_{args.size}_{variant}"
        app = "mednum.wsgi:application"
        if args.bound:
            prefix += f"_bound_{args.bound}"
            app = "api_bounds_wsgi:application"
            env = {**env, "MEDNUM_BENCH_BOUND": args.bound,
                   "PYTHONPATH": os.pathsep.join([env.get("PYTHONPATH", ""), str(Path(__file__).resolve().parent)])}
        with Gunicorn(env, args.workers, app) as server:
            # Warm up both workers (connections, caches, opening-hours parsing).
            wrk(server.base, paths, 3, args.connections)
            wrk(server.base, ["/api/v1/sante"], 2, args.connections)
            hello = wrk(server.base, ["/api/v1/sante"], args.duration, args.connections)
            lieux = wrk(server.base, paths, args.duration, args.connections)
        print(f"{prefix}_sante_rps: {hello['rps']:.0f}")
        print(f"{prefix}_lieux_rps: {lieux['rps']:.0f}")
        print(f"{prefix}_ratio: {lieux['rps'] / hello['rps']:.2f}")
        for name, result in (("sante", hello), ("lieux", lieux)):
            for key in ("p50_ms", "p90_ms", "p99_ms"):
                if key in result:
                    print(f"{prefix}_{name}_{key}: {result[key]:.2f}")
            print(f"{prefix}_{name}_non_2xx: {result['non_2xx']}")
            if result["socket_errors"]:
                print(f"# {name}: {result['socket_errors']}", file=sys.stderr)
        sys.stdout.flush()
        status |= 0 if lieux["non_2xx"] == 0 else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
