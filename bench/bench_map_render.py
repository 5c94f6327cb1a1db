"""Time to the first drawn map of the search page, in headless Chromium, with 100k lieux, on loopback.

    .venv/bin/python bench/bench_map_render.py [--size 100000] [--runs 5] [--commune 75056] [--rebuild]

Builds a synthetic SQLite database with bench/bench_nearest.py's builder (same lieux, in its own
folder `var/bench/carte-sqlite-<size>/`, kept for the next runs), collects the static files there, starts gunicorn (DEBUG off, WhiteNoise serving
the compressed static files, as in production) on 127.0.0.1, then opens the search page for a commune
in Debian's Chromium (Playwright, WebGL on SwiftShader) and reads how long after navigation start
the map was idle with the server's clusters drawn (`window.mednumCarteEtat.premierRendu`, set by
mednum/static/lieux/carte.js on the first `idle` after the first /api/v1/carte answer).

Each run uses a fresh browser context (empty HTTP cache) ; the first request of the server process is
made before measuring (Python imports, commune index). Prints `figure: value` lines, the headline being
`map_first_render_ms` (median of the runs). Goal: ≤ 1500 ms.

    .venv/bin/python bench/bench_map_render.py --compare OTHER_CARTE.js [--runs 15]

compares another version of mednum/static/lieux/carte.js with the project's: the two are loaded in
turn, pair after pair, in the same minutes (the browser serves both from memory, so that they are
fetched alike), and the median of the pairs' differences is printed. This machine's speed drifts from
minute to minute by more than most changes gain; a difference of paired loads is far steadier than
two medians taken a few minutes apart.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
GOAL_MS = 1500


def _bench_nearest():
    spec = importlib.util.spec_from_file_location("bench_nearest", ROOT / "bench" / "bench_nearest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(size: int, rebuild: bool) -> dict[str, str]:
    """Build (or reuse) the database and collect the static files; return the server's environment."""
    nearest = _bench_nearest()
    env = nearest.bench_env("sqlite", size)
    # Its own copy of the database: other benchmarks may be rebuilding theirs at the same time.
    data_dir = nearest.BENCH_DIR / f"carte-sqlite-{size}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env["MEDNUM_DATA_DIR"] = str(data_dir)
    build = (
        "import sys, django; sys.path.insert(0, %r); django.setup(); "
        "import importlib.util as u; s = u.spec_from_file_location('bn', %r); m = u.module_from_spec(s); "
        "s.loader.exec_module(m); m.build(%d, rebuild=%r)"
    ) % (str(ROOT), str(ROOT / "bench" / "bench_nearest.py"), size, rebuild)
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", build], env=env, check=True, cwd=ROOT)
    print(f"# base prête en {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    gunicorn = str(Path(PYTHON).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "mednum.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/sante", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("le serveur n'a pas démarré")


def _serve(body: str):
    """A Playwright route handler answering with `body` (a script)."""

    def handler(route):
        route.fulfill(body=body, content_type="text/javascript")

    return handler


def measure(base: str, path: str, runs: int, scripts: list[str] | None = None) -> list[float]:
    """First-render times of `runs` loads of `path`; with `scripts`, load i gets scripts[i % len] as
    the map's script."""
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--no-first-run"],
        )
        for i in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            if scripts:
                page.route("**/static/lieux/carte*.js", _serve(scripts[i % len(scripts)]))
            page.goto(base + path)
            page.wait_for_function(
                "() => window.mednumCarteEtat && window.mednumCarteEtat.premierRendu !== null", timeout=30000
            )
            drawn = page.evaluate(
                "() => window.mednumCarte.queryRenderedFeatures({layers: ['groupes', 'lieux']}).length"
            )
            if not drawn:
                raise RuntimeError("la carte n'a rien dessiné")
            timings.append(page.evaluate("window.mednumCarteEtat.premierRendu"))
            context.close()
        browser.close()
    return timings


def compare(base: str, path: str, pairs: int, other: Path) -> int:
    """Paired loads of the project's carte.js and `other`, in alternating order (ABBA…)."""
    ours = (ROOT / "mednum" / "static" / "lieux" / "carte.js").read_text(encoding="utf-8")
    theirs = other.read_text(encoding="utf-8")
    # Each pair runs in its own browser: A then B, then B then A for the next pair.
    a, b = [], []
    for i in range(pairs):
        first, second = measure(base, path, 2, [ours, theirs] if i % 2 == 0 else [theirs, ours])
        a.append(first if i % 2 == 0 else second)
        b.append(second if i % 2 == 0 else first)
    differences = [y - x for x, y in zip(a, b)]
    print(f"pairs: {pairs}")
    print(f"map_first_render_ms_project: {statistics.median(a):.0f}")
    print(f"map_first_render_ms_other: {statistics.median(b):.0f}")
    print(f"difference_other_minus_project_ms_median: {statistics.median(differences):.0f}")
    print(f"other_slower_in_pairs: {sum(d > 0 for d in differences)}/{pairs}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commune", default="75056", help="INSEE code of the commune searched")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--compare", metavar="CARTE_JS", help="another carte.js, compared in paired loads")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print("# Chromium absent (paquet Debian « chromium ») : mesure impossible", file=sys.stderr)
        return 1
    env = prepare(args.size, args.rebuild)
    port = free_port()
    server = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        urllib.request.urlopen(f"{base}/lieux/?commune={args.commune}", timeout=30).read()  # warm the process
        if args.compare:
            return compare(base, f"/lieux/?commune={args.commune}", args.runs, Path(args.compare))
        commune = measure(base, f"/lieux/?commune={args.commune}", args.runs)
        national = measure(base, "/lieux/", max(1, args.runs // 2))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"lieux: {args.size}")
    print(f"map_first_render_ms: {statistics.median(commune):.0f}")
    print(f"map_first_render_ms_max: {max(commune):.0f}")
    print(f"map_first_render_national_ms: {statistics.median(national):.0f}")
    print(f"map_first_render_goal_ms: {GOAL_MS}")
    return 0 if statistics.median(commune) <= GOAL_MS else 2


if __name__ == "__main__":
    sys.exit(main())
