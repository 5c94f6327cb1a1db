"""Settings come from the environment only; production settings pass `check --deploy` cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_extra)
    env["MEDNUM_IGNORE_DOTENV"] = "1"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_prints_no_warning_with_production_settings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={
            "DEBUG": "false",
            "SECRET_KEY": "x7!pQ2#vL9@mN4$rT8^wZ1&kB6*hJ3(yC5)dF0_gS2+eA9-uV7=oI4~nX8",
            "ALLOWED_HOSTS": "mednum.example.org",
            "MEDNUM_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = run_manage("check", env_extra={"DEBUG": "false", "MEDNUM_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_database_url_selects_postgresql(monkeypatch):
    import dj_database_url

    parsed = dj_database_url.parse("postgres://u:p@127.0.0.1:5433/mednum")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert parsed["PORT"] == 5433


def test_sqlite_default_uses_wal_under_data_dir(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("this run uses PostgreSQL through DATABASE_URL; the SQLite defaults do not apply")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert "journal_mode=WAL" in options["init_command"]
    assert options["transaction_mode"] == "IMMEDIATE"


def test_new_sqlite_database_has_8_kb_pages(tmp_path):
    # A lieu's source record (~2.3 KB of JSON) left 40 % of a 4 KB page empty; 8 KB pages hold three.
    import sqlite3

    result = run_manage("migrate", "lieux", "-v", "0", env_extra={"MEDNUM_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    with sqlite3.connect(tmp_path / "mednum.sqlite3") as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == 8192
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM lieux_sourcerecord").fetchone()[0] == 0


def test_an_empty_data_dir_means_the_default_folder():
    """`.env.example` has `MEDNUM_DATA_DIR=`: copied to `.env`, it put the database in the current folder."""
    code = "from django.conf import settings; print(settings.DATA_DIR)"
    result = run_manage("shell", "-c", code, env_extra={"MEDNUM_DATA_DIR": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(ROOT / "var")
