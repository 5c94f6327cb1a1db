"""The moderators' screens at 1M lieux: unreadable opening hours, the lieux list of the administration.

    .venv/bin/python bench/bench_moderation.py [--size 1000000] [--repeat 3]
    DATABASE_URL=postgres://… .venv/bin/python bench/bench_moderation.py   (also on PostgreSQL)

Uses the synthetic databases of bench_nearest.py (built on first use; its generator gives a few lieux
unreadable hours). In one process, with production settings, prints `figure: value` lines, each the
first of --repeat runs and their median, in ms:

- `…_horaires_invalides_*`: `lieux.hours.horaires_invalides()`, the distinct unreadable hours strings
  and their number of lieux (read through the hours indexes);
- `…_admin_illisibles_*`: the administration's list of lieux filtered on « Horaires : illisibles »
  (whole request, through Django's test client, signed in as a superuser created in a transaction that
  is rolled back at the end);
- `…_admin_liste_*`: the same list without a filter;
- `…_admin_recherche_*`: the same list searching a name (« Médiathèque »), and a postal code: the
  administration's search reads the whole table (no text index).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_nearest  # noqa: E402

PAGES = [
    ("admin_illisibles", "/admin/lieux/lieu/?horaires=illisibles"),
    ("admin_liste", "/admin/lieux/lieu/"),
    ("admin_recherche_nom", "/admin/lieux/lieu/?q=M%C3%A9diath%C3%A8que"),
    ("admin_recherche_code_postal", "/admin/lieux/lieu/?q=69001"),
]


def _timed(call, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def child(engine: str, size: int, repeat: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client

    from mednum.lieux import hours

    bench_nearest.build(size)
    # The administration's pages name their static files; the benchmark has not collected them.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    prefix = f"moderation_{engine}_{size}"

    def report(name: str, times: list[float]) -> None:
        print(f"{prefix}_{name}_first_ms: {times[0]:.0f}")
        print(f"{prefix}_{name}_median_ms: {statistics.median(times):.0f}")
        sys.stdout.flush()

    invalides = []
    report("horaires_invalides", _timed(lambda: invalides.append(hours.horaires_invalides()), repeat))
    print(f"{prefix}_horaires_invalides_textes: {len(invalides[-1])}")
    print(f"{prefix}_horaires_invalides_lieux: {sum(item.nombre for item in invalides[-1])}")
    with transaction.atomic():
        user = get_user_model().objects.create_superuser("bench-moderation@example.org", "x" * 24)
        client = Client()
        client.force_login(user)
        for name, path in PAGES:
            def get(path=path):
                response = client.get(path, HTTP_HOST="127.0.0.1", secure=True)
                if response.status_code != 200:
                    raise SystemExit(f"{path} : {response.status_code}")
            report(name, _timed(get, repeat))
        transaction.set_rollback(True)


def main(argv=None) -> int:
    return bench_nearest.size_repeat_main(argv, __doc__, __file__, child)


if __name__ == "__main__":
    sys.exit(main())
