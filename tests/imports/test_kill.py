"""An import killed with SIGKILL leaves no half-written lieu, and running it again completes it.

Runs the real command in a subprocess on a file-based SQLite database (WAL), kills it once the first
batches are committed, checks that every lieu has its source record and vice versa, runs it again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from tests.imports.conftest import ROOT

ROWS = 30_000
BATCH = 1_000


def _env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(MEDNUM_DATA_DIR=str(data_dir), MEDNUM_IGNORE_DOTENV="1", MEDNUM_GEOCODER_URL="",
               DJANGO_SETTINGS_MODULE="mednum.settings", PYTHONUNBUFFERED="1")
    return env


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:  # not Linux
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _counts(db) -> tuple[int, int, int, int]:
    """(lieux, records, lieux without record, records without lieu), read like any other reader would."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(
            """SELECT
                 (SELECT COUNT(*) FROM lieux_lieu),
                 (SELECT COUNT(*) FROM lieux_sourcerecord),
                 (SELECT COUNT(*) FROM lieux_lieu l WHERE NOT EXISTS
                    (SELECT 1 FROM lieux_sourcerecord r WHERE r.lieu_id = l.id)),
                 (SELECT COUNT(*) FROM lieux_sourcerecord r WHERE NOT EXISTS
                    (SELECT 1 FROM lieux_lieu l WHERE l.id = r.lieu_id))"""
        ).fetchone()
    finally:
        connection.close()


def test_sigkill_midway_then_rerun(tmp_path):
    env = _env(tmp_path)
    python = sys.executable
    manage = str(ROOT / "manage.py")
    subprocess.run([python, manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    data = tmp_path / "lieux.csv"
    subprocess.run([python, str(ROOT / "bench" / "generate_lieux.py"), "--rows", str(ROWS), "--out", str(data),
                    "--seed", "7"], check=True, cwd=ROOT)
    db = tmp_path / "mednum.sqlite3"
    command = [python, manage, "import_lieux", str(data), "--source", "generateur", "--batch-size", str(BATCH),
               "--no-progress"]

    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        lieux = 0
        while time.monotonic() < deadline and process.poll() is None:
            try:
                lieux = _counts(db)[0]
            except sqlite3.OperationalError:
                lieux = 0  # tables not readable yet
            if lieux >= 2 * BATCH:
                break
            time.sleep(0.02)
        assert process.poll() is None, "l'import s'est terminé avant d'avoir pu être interrompu"
        readers = _children(process.pid)  # the pipelined import's reader process (file > 1 MB)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while readers and time.monotonic() < deadline:
            readers = [pid for pid in readers if _alive(pid)]
            time.sleep(0.05)
        assert not readers, "le processus de lecture a survécu à l'import tué"
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL

    lieux, records, orphan_lieux, orphan_records = _counts(db)
    assert 2 * BATCH <= lieux < ROWS, "le processus aurait dû être tué au milieu de l'import"
    assert lieux == records and lieux % BATCH == 0  # whole batches only
    assert orphan_lieux == 0 and orphan_records == 0

    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Lieux inchangés : {lieux}" in done.stdout
    assert _counts(db) == (ROWS, ROWS, 0, 0)
