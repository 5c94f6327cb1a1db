"""« Ouvert maintenant » within a wide radius (100 km) at 1M lieux: server time of the search.

    .venv/bin/python bench/bench_open_now.py [--size 1000000] [--repeat 3]
    DATABASE_URL=postgres://… .venv/bin/python bench/bench_open_now.py   (also on PostgreSQL)

Uses the synthetic databases of bench_nearest.py (built on first use). Calls
`mednum.lieux.search.search_lieux` (the results page's search: the 20 nearest open lieux and their
count) around Paris, Lyon and a rural point, with the radius at its largest (100 km), at three moments
in this order: a Tuesday at 03:00 (nothing open: the lieux whose hours can be open now are read through
the hours index, here none), a Tuesday at 10:00 (many open: the spatial search, its box stays small) and
a Sunday at 15:00 (nothing open again). Running them in this order, in one process, is what a worker
sees: the first search of a process reads the census of hours strings and evaluates them, and the density
remembered after one search sizes the next search's first box. Prints `figure: value` lines: the first
of --repeat searches (what the first person to ask at that moment waits) and their median, in ms; then
the time to get the census once past RECENSEMENT_TTL with nothing written since (kept), and to read it.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_nearest  # noqa: E402

CENTRES = [("paris", 48.8566, 2.3522), ("lyon", 45.76, 4.84), ("rural", 44.0, 1.2)]
MOMENTS = [("nuit", (2026, 11, 24, 3, 0)), ("jour", (2026, 11, 24, 10, 0)), ("dimanche", (2026, 11, 29, 15, 0))]


def child(engine: str, size: int, repeat: int) -> None:
    import django

    django.setup()
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from mednum.lieux import search

    bench_nearest.build(size)
    prefix = f"open_now_{engine}_{size}"
    for moment, parts in MOMENTS:
        when = datetime(*parts, tzinfo=ZoneInfo("Europe/Paris"))
        for name, lat, lon in CENTRES:
            times = []
            for _ in range(repeat):
                params = search.SearchParams(
                    latitude=lat, longitude=lon, rayon_km=100, ouvert_maintenant=True, maintenant=when, avec_total=True
                )
                started = time.perf_counter()
                result = search.search_lieux(params)
                times.append((time.perf_counter() - started) * 1000)
            print(f"{prefix}_{moment}_{name}_first_ms: {times[0]:.0f}")
            print(f"{prefix}_{moment}_{name}_median_ms: {statistics.median(times):.0f}")
            print(f"{prefix}_{moment}_{name}_total: {result.total}")
            sys.stdout.flush()
    # The census of hours strings past RECENSEMENT_TTL: kept while nothing was written since, else read
    # again (what the first « ouvert maintenant » search after a write pays).
    search.RECENSEMENT_TTL = 0
    started = time.perf_counter()
    search._recensement()
    print(f"{prefix}_recensement_garde_ms: {(time.perf_counter() - started) * 1000:.1f}")
    search._RECENSEMENT.clear()
    started = time.perf_counter()
    search._recensement()
    print(f"{prefix}_recensement_relu_ms: {(time.perf_counter() - started) * 1000:.1f}")


def main(argv=None) -> int:
    return bench_nearest.size_repeat_main(argv, __doc__, __file__, child)


if __name__ == "__main__":
    sys.exit(main())
