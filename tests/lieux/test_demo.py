"""Demonstration data and the synthetic generator."""

import json
from pathlib import Path

import opening_hours
import pytest
from django.core.management import call_command

from mednum.lieux import demo, export
from mednum.lieux.models import Lieu, SourceRecord
from mednum.standard import schema

ROOT = Path(__file__).resolve().parents[2]


def generated(count=300, **options):
    return list(demo.iter_rows(count, seed=7, **options))


class TestGenerator:
    def test_deterministic(self):
        assert generated(50) == generated(50)

    def test_rows_validate_against_the_standard(self, tmp_path):
        path = tmp_path / "synth.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            demo.write_rows(generated(400, duplicates=0.1), handle)
        assert export.validate_csv(path) == []

    def test_opening_hours_are_valid_osm(self):
        hours = {row["horaires"] for row in generated(300) if row["horaires"]}
        assert hours
        for value in hours:
            opening_hours.OpeningHours(value)

    def test_fill_rates_look_real(self):
        rows = generated(2000)
        rate = lambda field: sum(1 for r in rows if r[field]) / len(rows)  # noqa: E731
        assert rate("services") == 1
        assert 0.6 < rate("telephone") < 0.8
        assert 0.5 < rate("horaires") < 0.7
        assert 0.3 < sum(1 for r in rows if r["pivot"] != "00000000000000") / len(rows) < 0.5
        assert 0.9 < rate("latitude") < 0.99

    def test_duplicates_come_from_another_source(self):
        rows = generated(1000, duplicates=0.2)
        by_id = {r["id"]: r for r in rows}
        assert len(by_id) == 1000
        sources = {r["source"] for r in rows}
        assert len(sources) >= 5

    def test_excluded_territories(self):
        rows = generated(500, exclude_regions={"84"}, exclude_departements={"33"})
        communes = {c.code: c for c in demo.load_communes()}
        assert not any(r["code_postal"].startswith("33") for r in rows)
        assert all(r["code_insee"] == "" or communes[r["code_insee"]].departement not in {"01", "69", "38", "33"}
                   for r in rows)

    def test_cli_json(self, tmp_path):
        import subprocess
        import sys

        out = tmp_path / "g.json"
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate_lieux.py"), "--rows", "20", "--out", str(out),
                        "--format", "json", "--duplicates", "0.1"], check=True, capture_output=True)
        data = json.loads(out.read_text(encoding="utf-8"))
        assert len(data) == 20 and list(data[0]) == list(schema.field_names())


@pytest.mark.django_db
class TestLoadDemo:
    @pytest.fixture(autouse=True)
    def _data_dir(self, settings, tmp_path):
        settings.DATA_DIR = tmp_path

    def test_load_demo_small(self, capsys):
        call_command("load_demo", "--synthetic", "50")
        out = capsys.readouterr().out
        assert "Dédoublonnage" in out
        sources = set(SourceRecord.objects.values_list("source", flat=True).distinct())
        assert {"Hinaura", "Gironde"} <= sources
        demo_lieux = Lieu.objects.filter(est_demo=True)
        assert 40 <= demo_lieux.count() <= 50
        assert not demo_lieux.filter(code_postal__startswith="33").exists()
        assert Lieu.objects.filter(est_demo=False).count() > 900
        # Hinaura lists some places twice: deduplication merged them.
        assert Lieu.objects.filter(fusionne_dans__isnull=False).exists()

        call_command("load_demo", "--synthetic", "50")
        assert "déjà chargées" in capsys.readouterr().out

    def test_marker_is_not_trusted_when_the_database_changed(self, capsys, monkeypatch):
        calls = []
        monkeypatch.setattr(demo, "HINAURA_FILE", Path("/nonexistent/h.json"))
        monkeypatch.setattr(demo, "GIRONDE_FILE", Path("/nonexistent/g.json"))
        from mednum.lieux import dedup

        monkeypatch.setattr(dedup, "run_dedup", lambda **kw: calls.append(1) or dedup.DedupResult())
        assert demo.load_demo(synthetic=5, log=lambda m: None) is True
        assert demo.load_demo(synthetic=5, log=lambda m: None) is False
        SourceRecord.objects.all().delete()
        assert demo.load_demo(synthetic=5, log=lambda m: None) is True
        assert len(calls) == 2
