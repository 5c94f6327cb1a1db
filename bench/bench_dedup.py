"""Deduplication benchmark: 20,000 synthetic lieux (about 10 % published twice by two sources).

    python bench/bench_dedup.py [--rows 20000] [--duplicates 0.1] [--import-engine]

Builds a fresh SQLite database in a temporary folder (migrations), inserts the generated lieux (by
default straight through `merge.new_lieu_for`-equivalent bulk inserts, which is faster to set up;
`--import-engine` goes through `import_lieux` instead, one file per source), runs `run_dedup` and
prints:

    dedup_seconds_20k: X       wall time of the deduplication run (candidates, scores, merges)
    dedup_clusters: N          clusters merged
    dedup_synthetic_precision / dedup_synthetic_recall: pairwise, against the generator's truth
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(folder: str) -> None:
    os.environ["MEDNUM_DATA_DIR"] = folder
    os.environ["MEDNUM_IGNORE_DOTENV"] = "1"
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mednum.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bulk_insert(rows) -> None:
    """One lieu and one source record per row, without the import engine (setup speed only)."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from mednum.lieux.merge import apply_values, known_communes, merged_values
    from mednum.lieux.models import Lieu, SourceRecord

    now = timezone.now()
    communes = known_communes()
    lieux, records = [], []
    for row in rows:
        values = dict(row)
        if values["pivot"] == "00000000000000":
            values["pivot"] = ""
        record = SourceRecord(source=values["source"], source_id=values["id"], raw=row, normalised=values,
                              content_hash="-", date_maj=dt.date.fromisoformat(values["date_maj"]),
                              imported_at=now, updated_at=now)
        lieu = Lieu(id_standard=values["id"])
        apply_values(lieu, merged_values([record]), communes=communes)
        lieux.append(lieu)
        records.append(record)
    with transaction.atomic():
        Lieu.objects.bulk_create(lieux, batch_size=2000)
        ids = dict(Lieu.objects.filter(id_standard__in=[r.source_id for r in records]).values_list("id_standard", "id"))
        for record in records:
            record.lieu_id = ids[record.source_id]
        SourceRecord.objects.bulk_create(records, batch_size=2000)


def import_with_engine(rows, folder: str) -> None:
    from mednum.imports.engine import import_lieux
    from mednum.lieux.demo import write_rows

    by_source = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    for n, (source, items) in enumerate(sorted(by_source.items())):
        path = Path(folder) / f"source-{n}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            write_rows(items, handle)
        import_lieux(path, source)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--import-engine", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mednum-bench-dedup-") as folder:
        setup_django(folder)
        from django.db import connection

        from mednum.lieux.demo import Generator
        from mednum.lieux.dedup import run_dedup
        from mednum.lieux.models import Lieu, SourceRecord

        generator = Generator(seed=args.seed, duplicates=args.duplicates)
        rows = list(generator.rows(args.rows))
        started = time.perf_counter()
        if args.import_engine:
            import_with_engine(rows, folder)
        else:
            bulk_insert(rows)
        print(f"setup: {len(rows)} lieux insérés en {time.perf_counter() - started:.1f} s", file=sys.stderr)

        result = run_dedup(log=lambda m: print("  " + m, file=sys.stderr))
        connection.close()

        # Pairwise quality against the generator's truth.
        truth = generator.duplicate_of_ids
        lieu_of = dict(SourceRecord.objects.values_list("source_id", "lieu_id"))
        groups = {}
        for source_id, lieu_id in lieu_of.items():
            groups.setdefault(lieu_id, []).append(source_id)
        predicted = set()
        for members in groups.values():
            members.sort()
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    predicted.add((a, b))
        root = {sid: truth.get(sid, sid) for sid in lieu_of}
        true_groups = {}
        for sid, r in root.items():
            true_groups.setdefault(r, []).append(sid)
        actual = set()
        for members in true_groups.values():
            members.sort()
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    actual.add((a, b))
        tp = len(predicted & actual)
        precision = tp / len(predicted) if predicted else 1.0
        recall = tp / len(actual) if actual else 1.0

        print(result.summary(), file=sys.stderr)
        print(f"dedup_seconds_{args.rows // 1000}k: {result.seconds:.2f}")
        print(f"dedup_clusters: {result.clusters}")
        print(f"dedup_review_pairs: {result.review_pairs}")
        print(f"dedup_synthetic_precision: {precision:.3f}")
        print(f"dedup_synthetic_recall: {recall:.3f}")
        print(f"public_lieux_after: {Lieu.objects.filter(fusionne_dans__isnull=True).count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
