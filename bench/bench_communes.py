"""Server time of the commune lookup `GET /api/v1/communes` on the territories of the configured database.

    .venv/bin/python bench/bench_communes.py [--requests N] [--seed S]

Without DATABASE_URL, uses its own SQLite database under var/bench/communes/ (migrated and loaded with
the territories on first use, ~10 s); with DATABASE_URL, that database (migrated and loaded the same
way when it has no communes).
Prints `figure: value` lines. The requests go through Django's test client (URL routing, middleware,
Ninja, JSON), so the times are the server's, without the network. `…_cpu_…` figures count only the
CPU time of this process (not the time spent waiting for a busy machine, nor the database server's
own time on PostgreSQL); `communes_index_…` figures time the in-memory lookup alone.

Options: `--requests N` (default 2000), `--seed S` (default 2024).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mednum.settings")
# Production-like settings (DEBUG off), as the other benchmarks: DEBUG wraps every query and doubles the time.
for name, value in {"MEDNUM_IGNORE_DOTENV": "1", "DEBUG": "false", "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
                    "ALLOWED_HOSTS": "localhost", "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "ERROR"}.items():
    os.environ.setdefault(name, value)
if not os.environ.get("DATABASE_URL"):
    os.environ["MEDNUM_DATA_DIR"] = str(ROOT / "var" / "bench" / "communes")
    (ROOT / "var" / "bench" / "communes").mkdir(parents=True, exist_ok=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from mednum.territoires import search  # noqa: E402
from mednum.territoires.models import Commune  # noqa: E402
from mednum.territoires.text import normalise  # noqa: E402

# Queries people type often, the broadest ones included (many matches to rank).
COMMON = [
    "sa", "saint", "st", "la", "le", "mo", "ch", "bo", "ville", "sur", "75", "13", "01", "97", "2a", "paris", "lyon",
]  # fmt: skip


def make_queries(communes: list[tuple], count: int, rng: random.Random) -> list[str]:
    """A mix: names typed letter by letter, full names in various spellings, postal and INSEE codes."""
    weights = [max(population, 1) for _, _, population, _ in communes]
    queries: list[str] = []
    while len(queries) < count:
        # Half the time a commune chosen by population (people live there), half at random.
        if rng.random() < 0.5:
            code, nom, _, postal_codes = rng.choices(communes, weights=weights)[0]
        else:
            code, nom, _, postal_codes = rng.choice(communes)
        kind = rng.random()
        if kind < 0.35:  # autocomplete: the first letters
            queries.append(nom[: rng.randint(2, max(2, len(nom)))])
        elif kind < 0.50:  # the whole name, spelled anyhow
            queries.append(rng.choice([nom, nom.upper(), normalise(nom), nom.replace("-", " ")]))
        elif kind < 0.55:  # a word inside the name, or "st" for "saint"
            words = normalise(nom).split()
            queries.append(" ".join(words[rng.randint(0, len(words) - 1) :]).replace("saint ", "st "))
        elif kind < 0.75 and postal_codes:  # a postal code
            queries.append(rng.choice(postal_codes))
        elif kind < 0.82 and postal_codes:  # the beginning of a postal code
            queries.append(rng.choice(postal_codes)[: rng.randint(2, 4)])
        elif kind < 0.90:  # an INSEE code
            queries.append(code)
        elif kind < 0.95 and postal_codes:  # a name with its postal code, as the site shows it
            queries.append(f"{nom} ({postal_codes[0]})")
        else:
            queries.append(rng.choice(COMMON))
    return queries


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if not Commune.objects.exists():
        call_command("load_territoires", verbosity=0)
    total = Commune.objects.count()

    communes = [
        (code, nom, population, list(codes_postaux or []))
        for code, nom, population, codes_postaux in Commune.objects.values_list(
            "code", "nom", "population", "codes_postaux"
        )
    ]
    rng = random.Random(args.seed)
    queries = make_queries(communes, args.requests, rng)

    search.invalidate_index()
    started = time.perf_counter()
    search.get_index()
    build_ms = (time.perf_counter() - started) * 1000

    client = Client(SERVER_NAME="localhost")
    for query in COMMON:  # warm-up: connections, URL resolver, Ninja
        client.get("/api/v1/communes", {"q": query})

    times: list[float] = []
    cpu_times: list[float] = []
    empty = 0
    for query in queries:
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get("/api/v1/communes", {"q": query})
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.thread_time() - started_cpu) * 1000)
        if response.status_code != 200:
            print(f"Réponse {response.status_code} pour {query!r} : {response.content[:200]!r}", file=sys.stderr)
            return 2
        if response.content == b"[]":
            empty += 1

    index_times: list[float] = []
    for query in queries:
        started = time.perf_counter()
        search.find_commune_codes(query)
        index_times.append((time.perf_counter() - started) * 1000)

    print(f"communes_database: {connection.vendor}")
    print(f"communes_count: {total}")
    print(f"communes_index_build_ms: {build_ms:.0f}")
    print(f"communes_lookup_requests: {len(times)}")
    print(f"communes_lookup_empty_results: {empty}")
    print(f"communes_lookup_mean_ms: {statistics.fmean(times):.2f}")
    print(f"communes_lookup_p50_ms: {percentile(times, 0.50):.2f}")
    print(f"communes_lookup_p95_ms: {percentile(times, 0.95):.2f}")
    print(f"communes_lookup_p99_ms: {percentile(times, 0.99):.2f}")
    print(f"communes_lookup_max_ms: {max(times):.2f}")
    print(f"communes_lookup_cpu_p50_ms: {percentile(cpu_times, 0.50):.2f}")
    print(f"communes_lookup_cpu_p95_ms: {percentile(cpu_times, 0.95):.2f}")
    print(f"communes_index_lookup_p50_ms: {percentile(index_times, 0.50):.3f}")
    print(f"communes_index_lookup_p95_ms: {percentile(index_times, 0.95):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
