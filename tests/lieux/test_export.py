"""Exports in the national standard: formats, frictionless validation, round trip, download URLs."""

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse

from mednum.imports import engine
from mednum.lieux import export
from mednum.lieux.merge import merge_cluster
from mednum.lieux.models import Lieu
from mednum.standard import schema
from tests.factories import CommuneFactory, DepartementFactory, RegionFactory, make_lieu

pytestmark = pytest.mark.django_db

DEMO_DIR = Path(__file__).resolve().parents[2] / "mednum" / "lieux" / "data" / "demo"


def source_file(name: str) -> Path:
    return DEMO_DIR / name


@pytest.fixture
def territoires():
    occitanie = RegionFactory(code="76", nom="Occitanie")
    herault = DepartementFactory(code="34", nom="Hérault", region=occitanie)
    montpellier = CommuneFactory(code="34172", nom="Montpellier", codes_postaux=["34000"], departement=herault)
    na = RegionFactory(code="75", nom="Nouvelle-Aquitaine")
    gironde = DepartementFactory(code="33", nom="Gironde", region=na)
    bordeaux = CommuneFactory(code="33063", nom="Bordeaux", codes_postaux=["33000"], departement=gironde)
    return montpellier, bordeaux


@pytest.fixture
def lieux(territoires):
    a = make_lieu("Source A", "a-1", nom="Médiathèque Émile Zola", pivot="21340172200014",
                  formations_labels="Étapes numériques (La Poste)|Fabriques de Territoire",
                  courriels="a@exemple.fr|b@exemple.fr", latitude="43.61092", longitude="3.876716")
    make_lieu("Source A", "a-2", nom="Espace, « virgules » et \"guillemets\"", pivot="",
              presentation_detail="Ligne 1\nLigne 2", latitude="", longitude="")
    make_lieu("Source B", "b-1", nom="Tiers-lieu de Bordeaux", commune="Bordeaux", code_postal="33000",
              code_insee="33063", latitude="44.837789", longitude="-0.57918")
    make_lieu("Démo", "d-1", nom="Lieu de démonstration", est_demo=True)
    dup = make_lieu("Source B", "b-2", nom="Médiathèque municipale Émile Zola", date_maj="2024-06-01",
                    latitude="", longitude="", courriels="")
    merge_cluster([a, dup])
    return a


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def export_text(fmt: str, **filters) -> str:
    return "".join(export.iter_export(fmt, export.public_lieux(**filters)))


class TestCsv:
    def test_header_order_and_values(self, lieux):
        text = export_text("csv")
        lines = text.splitlines()
        assert lines[0] == ",".join(schema.field_names())
        rows = read_csv(text)
        assert [r["id"] for r in rows] == ["a-1", "a-2", "b-1"]  # public, non-demo, sorted by id
        first = rows[0]
        assert first["source"] == "Source A, Source B"
        assert first["pivot"] == "21340172200014"
        assert first["latitude"] == "43.61092" and first["longitude"] == "3.876716"
        assert first["courriels"] == "a@exemple.fr|b@exemple.fr"
        assert first["date_maj"] == "2024-06-01"
        assert rows[1]["pivot"] == "00000000000000"  # unknown SIRET, the schema requires a value
        assert rows[1]["latitude"] == ""
        assert rows[1]["nom"] == 'Espace, « virgules » et "guillemets"'
        assert rows[1]["presentation_detail"] == "Ligne 1\nLigne 2"

    def test_demo_lieux_only_on_request(self, lieux):
        ids = [r["id"] for r in read_csv("".join(export.iter_csv(export.public_lieux(demo=True))))]
        assert "d-1" in ids

    def test_export_is_deterministic(self, lieux):
        assert export_text("csv") == export_text("csv")

    def test_frictionless_zero_errors(self, lieux, tmp_path):
        path = tmp_path / "lieux.csv"
        call_command("export_lieux", "--format", "csv", "-o", str(path))
        assert export.validate_csv(path) == []


class TestCorrectedSchema:
    def test_shipped_file_is_the_generated_one(self):
        assert export.CORRECTED_SCHEMA_PATH.read_text(encoding="utf-8") == export.corrected_schema_text()

    def test_only_the_formations_pattern_differs(self):
        original = json.loads(schema.SCHEMA_PATH.read_text(encoding="utf-8"))
        corrected = export.corrected_schema()
        differing = [a["name"] for a, b in zip(original["fields"], corrected["fields"]) if a != b]
        assert differing == ["formations_labels"]
        assert "Étapes numériques \\(La Poste\\)" in corrected["fields"][26]["constraints"]["pattern"]


class TestJsonAndGeojson:
    def test_json(self, lieux):
        data = json.loads(export_text("json"))
        assert [d["id"] for d in data] == ["a-1", "a-2", "b-1"]
        assert list(data[0]) == list(schema.field_names())
        assert data[0]["latitude"] == 43.61092
        assert data[1]["latitude"] is None
        assert data[1]["pivot"] == "00000000000000"
        assert data[0]["formations_labels"] == "Étapes numériques (La Poste)|Fabriques de Territoire"

    def test_geojson(self, lieux):
        data = json.loads(export_text("geojson"))
        assert data["type"] == "FeatureCollection"
        ids = [f["properties"]["id"] for f in data["features"]]
        assert ids == ["a-1", "b-1"]  # a-2 has no position
        feature = data["features"][0]
        assert feature["geometry"] == {"type": "Point", "coordinates": [3.876716, 43.61092]}
        assert "latitude" not in feature["properties"]
        assert len(feature["properties"]) == 30

    def test_empty_exports_are_valid(self, db):
        assert json.loads(export_text("json")) == []
        assert json.loads(export_text("geojson"))["features"] == []
        assert export_text("csv").strip() == ",".join(schema.field_names())


class TestTerritories:
    def test_filters(self, lieux):
        assert [r["id"] for r in read_csv(export_text("csv", departement="33"))] == ["b-1"]
        assert [r["id"] for r in read_csv(export_text("csv", region="76"))] == ["a-1", "a-2"]
        assert [r["id"] for r in read_csv(export_text("csv", commune="33063"))] == ["b-1"]

    def test_epci_by_its_siren(self, lieux, client, tmp_path):
        from mednum.territoires.models import Commune
        from tests.factories import EpciFactory

        metropole = EpciFactory(code="243400017", nom="Montpellier Méditerranée Métropole")
        Commune.objects.filter(code="34172").update(epci=metropole)
        assert [r["id"] for r in read_csv(export_text("csv", epci="243400017"))] == ["a-1", "a-2"]
        response = client.get("/donnees/lieux.csv?epci=243400017")
        assert "epci-243400017" in response["Content-Disposition"]
        assert [r["id"] for r in read_csv(b"".join(response.streaming_content).decode())] == ["a-1", "a-2"]
        call_command("export_lieux", "--epci", "243400017", "-o", str(tmp_path / "epci.csv"))
        assert [r["id"] for r in read_csv((tmp_path / "epci.csv").read_text(encoding="utf-8"))] == ["a-1", "a-2"]
        with pytest.raises(export.TerritoryError, match="Aucun EPCI ne porte le code « 200000000 »"):
            export.public_lieux(epci="200000000")
        bad = client.get("/donnees/lieux.csv?epci=Montpellier")
        assert bad.status_code == 400 and "SIREN" in bad.content.decode()

    def test_commune_includes_lieux_of_its_insee_code_linked_to_no_commune(self, lieux):
        # As on the commune's page: a lieu whose INSEE code is Bordeaux's but that no commune could be
        # linked to (e.g. imported before the territories) is in Bordeaux's export.
        unlinked = make_lieu("Source C", "c-1", nom="Point numérique", commune="Bordeaux", code_insee="33063")
        Lieu.objects.filter(pk=unlinked.pk).update(commune=None)
        assert [r["id"] for r in read_csv(export_text("csv", commune="33063"))] == ["b-1", "c-1"]

    def test_territories_that_hold_one_another(self, lieux):
        assert [r["id"] for r in read_csv(export_text("csv", region="75", departement="33", commune="33063"))] == ["b-1"]

    @pytest.mark.parametrize(
        "codes,message",
        [
            ({"departement": "34", "commune": "33063"},
             "La commune 33063 (Bordeaux) n'est pas dans le département 34 (Hérault)"),
            ({"region": "76", "commune": "33063"}, "La commune 33063 (Bordeaux) n'est pas dans la région 76 (Occitanie)"),
            ({"region": "76", "departement": "33"},
             "Le département 33 (Gironde) n'est pas dans la région 76 (Occitanie)"),
            ({"epci": "243400017", "commune": "33063"},
             "La commune 33063 (Bordeaux) n'est pas dans l'EPCI 243400017 (Montpellier Méditerranée Métropole)"),
            ({"epci": "243400017", "departement": "33"},
             "L'EPCI 243400017 (Montpellier Méditerranée Métropole) n'est pas dans le département 33 (Gironde)"),
        ],
    )
    def test_territories_apart_are_refused_not_an_empty_file(self, lieux, client, codes, message):
        # (export_lieux takes one territory option at most.)
        from mednum.territoires.models import Commune
        from tests.factories import EpciFactory

        metropole = EpciFactory(code="243400017", nom="Montpellier Méditerranée Métropole")
        Commune.objects.filter(code="34172").update(epci=metropole)
        with pytest.raises(export.TerritoryError, match=re.escape(message)):
            export.public_lieux(**codes)
        response = client.get(f"/donnees/lieux.csv?{urlencode(codes)}")
        assert response.status_code == 400
        assert message in response.content.decode()

    def test_unknown_code(self, territoires):
        with pytest.raises(export.TerritoryError, match="Aucun département"):
            export.public_lieux(departement="99")
        with pytest.raises(export.TerritoryError, match="n'est pas valide"):
            export.public_lieux(commune="abc")

    def test_command_rejects_unknown_code(self, territoires, tmp_path):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="Aucune région"):
            call_command("export_lieux", "--region", "01", "-o", str(tmp_path / "x.csv"))


class TestDownloads:
    @pytest.fixture(autouse=True)
    def _empty_cache(self):
        from django.core.cache import cache

        cache.clear()

    def test_csv_download(self, client, lieux):
        response = client.get(reverse("donnees:lieux", args=["csv"]))
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        disposition = response["Content-Disposition"]
        assert disposition.startswith('attachment; filename="lieux-mediation-numerique-')
        assert disposition.endswith('.csv"')
        body = b"".join(response.streaming_content).decode("utf-8")
        assert body == export_text("csv")

    @pytest.mark.parametrize("fmt", ["json", "geojson"])
    def test_other_formats(self, client, lieux, fmt):
        response = client.get(f"/donnees/lieux.{fmt}?departement=33")
        assert response.status_code == 200
        assert "departement-33" in response["Content-Disposition"]
        json.loads(b"".join(response.streaming_content))

    def test_bad_code_is_a_400_in_french(self, client, territoires):
        response = client.get("/donnees/lieux.csv?departement=999")
        assert response.status_code == 400
        assert "Aucun département ne porte le code « 999 »" in response.content.decode()
        response = client.get("/donnees/lieux.csv?region=<script>")
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/plain")

    def test_a_misspelt_territory_is_a_400_not_the_whole_country(self, client, lieux):
        response = client.get("/donnees/lieux.csv?departemnt=33")
        assert response.status_code == 400
        assert response.content.decode() == (
            "Paramètre inconnu : « departemnt ». Vouliez-vous dire « departement » ? "
            "Paramètres possibles : « region », « departement », « epci », « commune »."
        )
        # Campaign tags of a newsletter link and cache breakers do not change the file.
        tagged = client.get("/donnees/lieux.csv?departement=33&utm_source=lettre&_=1")
        assert tagged.status_code == 200
        assert [r["id"] for r in read_csv(b"".join(tagged.streaming_content).decode())] == ["b-1"]

    def test_unknown_format_is_404(self, client, db):
        assert client.get("/donnees/lieux.xlsx").status_code == 404

    def test_page_lists_downloads_licence_and_sources(self, client, lieux):
        response = client.get("/donnees/")
        assert response.status_code == 200
        html = response.content.decode()
        for fmt in ("csv", "json", "geojson"):
            assert f"/donnees/lieux.{fmt}" in html
        assert "Licence Ouverte" in html
        assert "Source A" in html and "Source B" in html
        assert "Démo" not in html  # demonstration data is not a source of the open data
        assert 'href="/widget/integrer/"' in html  # how partners embed the search


class TestRoundTrip:
    """Export → import into an empty database → export again: the same bytes."""

    def _round_trip(self, tmp_path):
        first = tmp_path / "premier.csv"
        call_command("export_lieux", "-o", str(first))
        Lieu.objects.all().delete()
        report = engine.import_lieux(first, "export")
        assert report.rejected == 0, report.summary_lines()
        second = tmp_path / "second.csv"
        call_command("export_lieux", "-o", str(second))
        return first.read_bytes(), second.read_bytes()

    def test_factory_lieux(self, lieux, tmp_path):
        first, second = self._round_trip(tmp_path)
        assert first.count(b"\n") > 3
        assert first == second


@pytest.fixture
def real_sources(db):
    """Hinaura (v0.1 file) and Gironde (raw file + mapping) imported with the import engine."""
    hinaura = engine.import_lieux(source_file("hinaura-v0.1.json"), "Hinaura")
    mapping = Path(__file__).resolve().parents[2] / "mednum" / "imports" / "mappings" / "gironde.json"
    gironde = engine.import_lieux(source_file("gironde-raw.json"), "Gironde", mapping=mapping)
    assert hinaura.valid > 600 and gironde.valid > 300, (hinaura.summary_lines(), gironde.summary_lines())
    return engine


class TestRealSources:
    def test_export_of_real_sources_has_zero_frictionless_errors(self, real_sources, tmp_path):
        from mednum.lieux.dedup import run_dedup

        run_dedup()
        path = tmp_path / "lieux.csv"
        call_command("export_lieux", "-o", str(path))
        errors = export.validate_csv(path)
        assert errors == [], errors[:20]
        assert sum(1 for _ in path.open(encoding="utf-8")) > 900

    def test_original_schema_rejects_the_correct_spelling(self, tmp_path):
        path = tmp_path / "un.csv"
        row = dict.fromkeys(schema.field_names(), "")
        row.update(id="x", pivot="00000000000000", nom="Lieu", commune="Lyon", code_postal="69001",
                   adresse="1 rue X", date_maj="2024-01-01", formations_labels="Étapes numériques (La Poste)")
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=schema.field_names())
            writer.writeheader()
            writer.writerow(row)
        assert export.validate_csv(path) == []
        errors = export.validate_csv(path, schema_path=schema.SCHEMA_PATH)
        assert len(errors) == 1 and "formations_labels" in errors[0]

    def test_round_trip_of_real_sources(self, real_sources, tmp_path):
        from mednum.lieux.dedup import run_dedup

        assert run_dedup().clusters > 0  # merged lieux (several records) are exported too
        first = tmp_path / "premier.csv"
        call_command("export_lieux", "-o", str(first))
        Lieu.objects.all().delete()
        report = real_sources.import_lieux(first, "export")
        assert report.rejected == 0, report.summary_lines()
        second = tmp_path / "second.csv"
        call_command("export_lieux", "-o", str(second))
        assert first.read_bytes() == second.read_bytes()


def test_a_lone_carriage_return_in_a_text_still_exports_a_valid_csv_and_round_trips(db, tmp_path):
    """« Ligne 1\\rLigne 2 » (a line break as old Mac software writes it) was kept as is: the exported CSV
    had 40 frictionless errors and its re-import lost the lieu. The normaliser makes it a line feed."""
    from tests.imports.conftest import row, write_json

    report = engine.import_lieux(write_json(tmp_path / "cr.json", [
        row(1, presentation_detail="Ligne 1\rLigne 2\r\nLigne 3", adresse="1 rue\rde Vesle"), row(2),
    ]), "json")
    assert report.exit_status == 0, report.summary_lines()
    assert Lieu.objects.get(id_standard="lieu-1").presentation_detail == "Ligne 1\nLigne 2\nLigne 3"
    assert Lieu.objects.get(id_standard="lieu-1").adresse == "1 rue de Vesle"
    first = tmp_path / "premier.csv"
    call_command("export_lieux", "-o", str(first))
    assert export.validate_csv(first) == []
    Lieu.objects.all().delete()
    assert engine.import_lieux(first, "export").rejected == 0
    second = tmp_path / "second.csv"
    call_command("export_lieux", "-o", str(second))
    assert first.read_bytes() == second.read_bytes()
