"""Size of the map data (`GET /api/v1/carte`) at 1M lieux: whole France (zoom 5) and a city (zoom 13, Lyon).

    .venv/bin/python bench/bench_map_payload.py [--size 1000000] [--width 1280 --height 800]
    DATABASE_URL=postgres://… .venv/bin/python bench/bench_map_payload.py   (also on PostgreSQL)

Uses the synthetic databases of bench_nearest.py (built on first use). The box is what a 1280×800 screen
shows at that zoom. Prints the JSON and gzip sizes (goals: ≤ 300 KB for France, ≤ 100 KB for the city)
and the server time of a first request (nothing cached) and a repeated one, plus the département (z 7)
and cluster (z 10) views, and five filtered views (a service; opening hours at zoom 9). Prints `figure: value` lines.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_nearest  # noqa: E402

SERVICE = {"services": "Aide aux démarches administratives"}
VIEWS = [  # name, centre, zoom, filters
    ("france_z5", 46.6, 2.4, 5, {}),
    ("france_z7", 45.9, 4.4, 7, {}),
    ("lyon_z10", 45.764, 4.8357, 10, {}),
    ("lyon_z13", 45.764, 4.8357, 13, {}),
    ("paris_z15", 48.8566, 2.3522, 15, {}),
    # With a service filter: the counts per territory are computed for those filters.
    ("france_z5_service", 46.6, 2.4, 5, SERVICE),
    ("france_z7_service", 45.9, 4.4, 7, SERVICE),
    ("lyon_z10_service", 45.764, 4.8357, 10, SERVICE),
    # Zoom 9 around Paris: clusters over ~250,000 lieux at 1M, filtered by service or by opening hours.
    ("paris_z9_service", 48.8566, 2.3522, 9, SERVICE),
    ("paris_z9_ouvert", 48.8566, 2.3522, 9, {"ouvert_maintenant": "1"}),
]


def viewport_bbox(lat: float, lon: float, zoom: int, width: int, height: int) -> str:
    from mednum.geo import grid

    cx, cy = grid.x_px(lon, zoom), grid.y_px(lat, zoom)
    world = grid.world_px(zoom)
    min_lon = max(-180.0, (cx - width / 2) / world * 360.0 - 180.0)
    max_lon = min(180.0, (cx + width / 2) / world * 360.0 - 180.0)
    max_lat = grid.lat_of_y(max(0.0, cy - height / 2), zoom)
    min_lat = grid.lat_of_y(min(world, cy + height / 2), zoom)
    return f"{min_lon:.5f},{min_lat:.5f},{max_lon:.5f},{max_lat:.5f}"


def child(engine: str, size: int, width: int, height: int) -> None:
    import django

    django.setup()
    from django.core.cache import cache
    from django.test import Client

    bench_nearest.build(size)
    client = Client()
    prefix = f"map_{engine}_{size}"
    for name, lat, lon, zoom, filters in VIEWS:
        url = "/api/v1/carte?" + urlencode({"bbox": viewport_bbox(lat, lon, zoom, width, height), "z": zoom, **filters})
        cache.clear()
        started = time.perf_counter()
        response = client.get(url)
        cold = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:300]
        started = time.perf_counter()
        client.get(url)
        warm = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        not_modified = client.get(url, headers={"If-None-Match": response["ETag"]})
        revalidate = (time.perf_counter() - started) * 1000
        assert not_modified.status_code == 304
        body = response.content
        data = response.json()
        count = len(data["territoires"]) + len(data["grappes"]) + len(data["points"])
        print(f"{prefix}_{name}_mode: {data['mode']}")
        print(f"{prefix}_{name}_items: {count}")
        print(f"{prefix}_{name}_lieux: {data['nombre']}")
        print(f"{prefix}_{name}_json_kb: {len(body) / 1024:.1f}")
        print(f"{prefix}_{name}_gzip_kb: {len(gzip.compress(body, 6)) / 1024:.1f}")
        print(f"{prefix}_{name}_first_ms: {cold:.1f}")
        print(f"{prefix}_{name}_cached_ms: {warm:.2f}")
        print(f"{prefix}_{name}_304_ms: {revalidate:.2f}")
        sys.stdout.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    bench_nearest.add_engine_arguments(parser)
    args = parser.parse_args(argv)
    if args.child:
        child(args.engine, args.size, args.width, args.height)
        return 0
    engines, base_url = bench_nearest.engines_to_run(args.engines)
    status = 0
    for engine in engines:
        extra = ["--width", str(args.width), "--height", str(args.height)]
        status |= bench_nearest.run_child(Path(__file__).resolve(), engine, args.size, base_url, extra)
    return status


if __name__ == "__main__":
    sys.exit(main())
