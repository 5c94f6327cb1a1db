"""Generate realistic lieux in the national standard v1.0.2, for benchmarks, load tests and the demo.

    python bench/generate_lieux.py --rows 100000 --out /tmp/lieux.csv [--seed 2024] [--duplicates 0.1]
                                   [--format csv|json] [--exclude-regions 84] [--exclude-departements 33]

Rows are streamed to disk (`--out -` writes to standard output). Communes are drawn from mednum's
commune reference data (mednum/territoires/data/communes.csv.gz) in proportion to their population;
positions are scattered around the town centre (a few hundred metres in a village, a few kilometres
in a city); names, typologies, fill rates and opening hours look like the real sources'.
`--duplicates F`: a share F of the rows describe again a place generated earlier, as another source
publishes it (another `source`, name and address rewritten, position moved 5-150 m or missing,
SIRET, phone or e-mail sometimes dropped) — what deduplication has to find.

The generator itself is `mednum.lieux.demo.Generator` (also used by `manage.py load_demo`).
Deterministic for a given seed. Standard library only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mednum.lieux.demo import Generator, write_rows  # noqa: E402


def generate(rows: int, out, *, seed: int = 2024, duplicates: float = 0.0, fmt: str = "csv",
             exclude_regions=(), exclude_departements=()) -> int:
    generator = Generator(seed=seed, duplicates=duplicates, exclude_regions=frozenset(exclude_regions),
                          exclude_departements=frozenset(exclude_departements))
    return write_rows(generator.rows(rows), out, fmt)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", required=True, help="file to write ('-' for standard output)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--duplicates", type=float, default=0.0, help="share of rows repeating an earlier place")
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument("--exclude-regions", default="", help="region codes to leave out, comma-separated")
    parser.add_argument("--exclude-departements", default="", help="département codes to leave out")
    args = parser.parse_args(argv)
    options = {
        "seed": args.seed, "duplicates": args.duplicates, "fmt": args.format,
        "exclude_regions": [c for c in args.exclude_regions.split(",") if c],
        "exclude_departements": [c for c in args.exclude_departements.split(",") if c],
    }
    started = time.perf_counter()
    if args.out == "-":
        count = generate(args.rows, sys.stdout, **options)
    else:
        with open(args.out, "w", encoding="utf-8", newline="") as handle:
            count = generate(args.rows, handle, **options)
        elapsed = time.perf_counter() - started
        print(f"{count} lieux écrits dans {args.out} en {elapsed:.1f} s", file=sys.stderr)
        print(f"generate_rows_per_s: {count / elapsed:.0f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
