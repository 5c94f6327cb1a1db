"""The quick benchmarks, one after the other (`make bench`): a few minutes on a laptop.

    .venv/bin/python bench/run_all.py [--full]

Quick set: commune lookup, row normaliser, deduplication of 20k lieux and its precision/recall on the
labelled pairs, nearest-lieux search at 10k and 100k lieux, import of 100k rows.
`--full` adds the 1M-lieux measures (nearest, map payload, « ouvert maintenant » within 100 km, worker memory; the synthetic databases
are built once under var/bench/, ~1 GB) and the ones that need Debian packages (`wrk` for the API
throughput, `chromium` for the map's first render).

Each script prints `figure: value` lines; see bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUICK = [
    ["bench_communes.py"],
    ["bench_normalise.py"],
    ["bench_dedup.py", "--rows", "20000"],
    ["dedup_quality.py"],
    ["bench_nearest.py", "--sizes", "10000,100000"],
    ["bench_import.py", "--rows", "100000"],
]
FULL = [
    ["bench_nearest.py", "--sizes", "1000000"],
    ["bench_map_payload.py", "--size", "1000000"],
    ["bench_open_now.py", "--size", "1000000"],
    ["bench_moderation.py", "--size", "1000000"],
    ["bench_memory.py", "--size", "1000000"],
    ["bench_api_throughput.py", "--size", "100000"],
    ["bench_api_parts.py", "--size", "100000"],
    ["bench_import_floor.py", "--rows", "100000"],
    ["bench_map_render.py", "--size", "100000"],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the 1M-lieux and browser measures")
    args = parser.parse_args()
    failures = 0
    for command in QUICK + (FULL if args.full else []):
        print(f"\n### {' '.join(command)}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=False)
        print(f"### ({time.monotonic() - started:.0f} s, exit status {result.returncode})", flush=True)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
