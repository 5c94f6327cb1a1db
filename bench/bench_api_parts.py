"""Where the CPU of one `GET /api/v1/lieux` goes, inside Django, next to `/api/v1/sante`.

    .venv/bin/python bench/bench_api_parts.py [--size 100000] [--requests 3000]
    DATABASE_URL=postgres://… .venv/bin/python bench/bench_api_parts.py --engine postgresql

Uses the synthetic database of bench_nearest.py and the same 1,000 searches as
bench_api_throughput.py, and calls the WSGI application in this process (no server, no network, one
core). Each figure is the best of five rounds of --requests calls, in CPU microseconds per request:

    api_cpu_us_sante: …                 the whole Django + Ninja stack for `{"status": "ok"}`
    api_cpu_us_lieux: …                 a search, whole request
    api_cpu_us_lieux_parameters: …      reading and checking its query string (search.parse_params)
    api_cpu_us_lieux_search: …          the search and its JSON body (search.search_page_json)
    api_cpu_us_lieux_without_search: …  the whole request with the search answered by a fixed page

bench_api_throughput.py gives the figure that counts (requests per second through gunicorn under load,
where every part costs about twice as much); this one says which part to work on.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_api_throughput  # noqa: E402
import bench_nearest  # noqa: E402

ROOT = bench_nearest.ROOT


def _environ(path: str) -> dict:
    path_info, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path_info, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
    }


def _best_us(call, count: int, rounds: int = 5) -> float:
    for i in range(min(300, count)):
        call(i)
    best = float("inf")
    for _round in range(rounds):
        start = time.process_time()
        for i in range(count):
            call(i)
        best = min(best, (time.process_time() - start) / count)
    return best * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "").strip()
    if args.engine == "postgresql" and not base_url:
        print("DATABASE_URL (PostgreSQL) est nécessaire avec --engine postgresql", file=sys.stderr)
        return 2

    env = bench_api_throughput.prepare(args.engine, args.size, base_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import QueryDict

    from mednum.lieux import search

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    application = WSGIHandler()
    paths = bench_api_throughput.lieux_paths()
    queries = [path.partition("?")[2] for path in paths]

    def request(path: str) -> bytes:
        status = []
        body = b"".join(application(_environ(path), lambda s, h, e=None: status.append(s)))
        if not status or not status[0].startswith("200"):
            raise SystemExit(f"{path} : {status[0] if status else 'pas de réponse'}")
        return body

    for path in paths:  # every search once: caches as a running server has them
        request(path)
    count = args.requests
    prefix = "api_cpu_us_"
    print(f"{prefix}sante: {_best_us(lambda i: request('/api/v1/sante'), count):.0f}")
    print(f"{prefix}lieux: {_best_us(lambda i: request(paths[i % len(paths)]), count):.0f}")
    print(f"{prefix}lieux_parameters: "
          f"{_best_us(lambda i: search.parse_params(QueryDict(queries[i % len(queries)])), count):.0f}")
    parsed = [search.parse_params(QueryDict(query)) for query in queries]
    print(f"{prefix}lieux_search: {_best_us(lambda i: search.search_page_json(parsed[i % len(parsed)]), count):.0f}")
    fixed_page = search.search_page_json(parsed[0])
    real = search.search_page_json
    search.search_page_json = lambda params: fixed_page
    try:
        print(f"{prefix}lieux_without_search: {_best_us(lambda i: request(paths[i % len(paths)]), count):.0f}")
    finally:
        search.search_page_json = real
    return 0


if __name__ == "__main__":
    sys.exit(main())
