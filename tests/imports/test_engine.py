"""The import engine: upserts, re-imports, rejections, modes, positions, reports."""

from __future__ import annotations

import csv
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mednum.imports import engine
from mednum.imports.engine import import_lieux
from mednum.lieux.models import MASK_COLUMNS, Lieu, PositionPrecision, SourceRecord
from tests.imports.conftest import fail_create_at, row, write_csv, write_json

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(?:\d+ times: )?(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if WRITE.match(q["sql"])]


def test_import_creates_lieux_and_source_records(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(1), row(2, pivot="00000000000000", latitude="", longitude="")])
    report = import_lieux(path, "reseau-test", demo=True)

    assert report.exit_status == 0, report.summary_lines()
    assert (report.read, report.created, report.updated, report.unchanged, report.rejected) == (2, 2, 0, 0, 0)
    assert Lieu.objects.count() == 2 and SourceRecord.objects.count() == 2

    lieu = Lieu.objects.get(id_standard="lieu-1")
    assert lieu.nom == "Médiathèque numéro 1"
    assert lieu.commune_nom == "Reims" and lieu.code_insee == "51454" and lieu.commune_id == "51454"
    assert (lieu.latitude, lieu.longitude) == (49.2535, 4.0276)
    assert lieu.position_precision == PositionPrecision.SOURCE
    assert lieu.pivot == "43493312300029"
    assert lieu.slug.startswith("mediatheque-numero-1-") and len(lieu.slug.rsplit("-", 1)[1]) == 8
    assert lieu.est_demo is True
    assert str(lieu.date_maj) == "2024-04-02"
    masks = {column: getattr(lieu, column) for column in MASK_COLUMNS.values()}
    lieu.set_masks()
    assert masks == {column: getattr(lieu, column) for column in MASK_COLUMNS.values()}
    assert lieu.services_mask != 0

    record = lieu.source_records.get()
    assert (record.source, record.source_id) == ("reseau-test", "lieu-1")
    assert record.raw["nom"] == "Médiathèque numéro 1"
    assert record.normalised["services"] == "Aide aux démarches administratives|Accès internet et matériel informatique"
    assert len(record.content_hash) == 32 and str(record.date_maj) == "2024-04-02"

    # Unknown pivot → '' ; no coordinates and no geocoder → the commune's position, approximate.
    other = Lieu.objects.get(id_standard="lieu-2")
    assert other.pivot == ""
    assert (other.latitude, other.longitude) == (49.2628, 4.0347)
    assert other.position_precision == PositionPrecision.COMMUNE
    assert report.placed_at_commune == 1


def test_reimport_of_the_same_file_writes_nothing(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 6)])
    import_lieux(path, "reseau-test", batch_size=2)
    before = {r.pk: (r.updated_at, r.lieu.modifie_le) for r in SourceRecord.objects.select_related("lieu")}

    with CaptureQueriesContext(connection) as queries:
        report = import_lieux(path, "reseau-test", batch_size=2)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert writes(queries.captured_queries) == []
    after = {r.pk: (r.updated_at, r.lieu.modifie_le) for r in SourceRecord.objects.select_related("lieu")}
    assert after == before
    assert report.exit_status == 0


def test_changed_row_updates_only_that_lieu(tmp_path, reims):
    rows = [row(n) for n in range(1, 4)]
    path = write_csv(tmp_path / "lieux.csv", rows)
    import_lieux(path, "reseau-test")
    before = {lieu.id_standard: lieu.modifie_le for lieu in Lieu.objects.all()}
    records_before = {r.source_id: r.updated_at for r in SourceRecord.objects.all()}

    rows[1] = row(2, nom="Nouveau nom", telephone="")
    write_csv(path, rows)
    with CaptureQueriesContext(connection) as queries:
        report = import_lieux(path, "reseau-test")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert len(writes(queries.captured_queries)) == 2  # one UPDATE statement per table (executemany)

    lieu = Lieu.objects.get(id_standard="lieu-2")
    assert lieu.nom == "Nouveau nom" and lieu.telephone == "" and lieu.slug.startswith("nouveau-nom-")
    assert lieu.modifie_le > before["lieu-2"]
    assert Lieu.objects.get(id_standard="lieu-1").modifie_le == before["lieu-1"]
    assert Lieu.objects.get(id_standard="lieu-3").modifie_le == before["lieu-3"]
    records = {r.source_id: r for r in SourceRecord.objects.all()}
    assert records["lieu-2"].updated_at > records_before["lieu-2"]
    assert records["lieu-2"].imported_at < records["lieu-2"].updated_at
    assert records["lieu-2"].normalised["nom"] == "Nouveau nom"
    assert records["lieu-1"].updated_at == records_before["lieu-1"]
    assert Lieu.objects.count() == 3


def test_same_id_from_another_source_gets_the_source_prefix(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(1), row(2)])
    import_lieux(path, "Réseau A")
    report = import_lieux(path, "Réseau B")
    assert report.created == 2
    assert set(Lieu.objects.values_list("id_standard", flat=True)) == {
        "lieu-1", "lieu-2", "reseau-b_lieu-1", "reseau-b_lieu-2"
    }
    record = SourceRecord.objects.get(source="Réseau B", source_id="lieu-1")
    assert record.lieu.id_standard == "reseau-b_lieu-1"
    # A third source whose prefixed id is also taken gets a number.
    Lieu.objects.filter(id_standard="lieu-1").update(id_standard="reseau-c_lieu-1")
    Lieu.objects.filter(id_standard="reseau-b_lieu-1").update(id_standard="lieu-1")
    write_csv(path, [row(1)])
    import_lieux(path, "Réseau C")
    assert SourceRecord.objects.get(source="Réseau C").lieu.id_standard == "reseau-c_lieu-1_2"


def test_long_ids_from_sources_with_the_same_slug_still_get_a_number(tmp_path, reims):
    """« L'Atelier » and « Latelier » give the same prefix; with ids near 255 characters, the number used
    to be cut off by the length limit, and the import stopped (« impossible d'attribuer un identifiant »)."""
    long_id = "L" * 250
    path = write_csv(tmp_path / "lieux.csv", [row(1, id=long_id)])
    for source in ("Réseau A", "L'Atelier", "Latelier"):
        report = import_lieux(path, source)
        assert report.exit_status == 0 and report.created == 1, report.summary_lines()
    ids = set(Lieu.objects.values_list("id_standard", flat=True))
    assert len(ids) == 3 and all(len(i) <= 255 for i in ids)
    assert any(i.endswith("_2") for i in ids)


def test_rejected_rows_are_reported_and_valid_rows_imported(tmp_path, reims):
    rows = [row(1), row(2, services="Danse classique"), row(3, date_maj="", code_postal="ABCDE"), row(4), row(1)]
    path = write_csv(tmp_path / "lieux.csv", rows)
    report = import_lieux(path, "reseau-test", report_path=tmp_path / "rapport.csv")

    assert report.exit_status == 1
    assert (report.read, report.created, report.rejected) == (5, 2, 3)
    by_row = {}
    for r in report.rejections:
        by_row.setdefault(r.row, []).append(r)
    assert set(by_row) == {3, 4, 6}  # CSV rows: the header is row 1
    assert by_row[3][0].field == "services" and by_row[3][0].value == "Danse classique"
    assert "valeur inconnue" in by_row[3][0].reason
    assert {r.field for r in by_row[4]} >= {"date_maj", "code_postal"}
    assert by_row[6][0].field == "id" and "double" in by_row[6][0].reason
    assert sorted(Lieu.objects.values_list("id_standard", flat=True)) == ["lieu-1", "lieu-4"]

    with open(tmp_path / "rapport.csv", encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["ligne", "champ", "valeur", "raison", "suite"]
    assert lines[1] == ["3", "services", "Danse classique", by_row[3][0].reason, "ligne rejetée"]
    assert len([line for line in lines if line[4] == "ligne rejetée"]) == report.rejected_entries
    assert len(lines) == 1 + report.rejected_entries + len(report.corrections)


@pytest.mark.parametrize("pipeline", [False, True])
@pytest.mark.parametrize("all_or_nothing", [False, True])
def test_values_fixed_or_dropped_in_imported_rows_are_listed(tmp_path, reims, pipeline, all_or_nothing):
    """An e-mail that is not one was dropped from an imported row without saying which row or field."""
    path = write_csv(tmp_path / "lieux.csv", [row(1), row(2, courriels="pas-un-courriel"), row(3, nom="")])
    report_path = tmp_path / "rapport.csv"
    report = import_lieux(path, "reseau-test", pipeline=pipeline, all_or_nothing=all_or_nothing, report_path=report_path)
    with open(report_path, encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    if all_or_nothing:
        assert report.rejected == 1 and report.corrections == []  # nothing imported, nothing to list
        assert [line[4] for line in lines[1:]] == ["ligne rejetée"]
        return
    # The CSV report: the rejected row, then the value dropped from an imported row.
    assert [(line[0], line[1], line[4]) for line in lines[1:]] == [
        ("4", "nom", "ligne rejetée"), ("3", "courriels", "ligne valide, valeur corrigée, écartée ou à vérifier")]
    assert (report.created, report.rejected) == (2, 1)
    assert [(c.row, c.field, c.value) for c in report.corrections] == [(3, "courriels", "pas-un-courriel")]
    assert "invalide" in report.corrections[0].reason
    assert "Valeurs corrigées, écartées ou à vérifier dans les lignes importées : 1" in report.summary_lines()
    assert engine.ImportReport.from_dict(report.as_dict()).corrections == report.corrections


@pytest.mark.parametrize("pipeline", [False, True])
def test_unreadable_opening_hours_are_imported_as_given_and_reported(tmp_path, reims, pipeline):
    """The lieu page shows them as given and « ouvert maintenant » cannot use them: the report tells the
    source which rows to fix."""
    path = write_csv(tmp_path / "lieux.csv", [row(1, horaires="Mo-Fr 09:00-12:00"), row(2, horaires="lundi 9h-12h")])
    report = import_lieux(path, "reseau-test", pipeline=pipeline)
    assert (report.created, report.rejected) == (2, 0)
    assert Lieu.objects.get(id_standard="lieu-2").horaires == "lundi 9h-12h"
    assert [(c.row, c.field, c.value) for c in report.corrections] == [(3, "horaires", "lundi 9h-12h")]
    reason = report.corrections[0].reason
    assert reason.startswith("horaires illisibles, gardés tels quels") and "Syntaxe d'horaires OpenStreetMap" in reason
    assert "Valeurs corrigées, écartées ou à vérifier dans les lignes importées : 1" in report.summary_lines()


def test_values_fixed_are_listed_once_in_all_or_nothing_mode(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(1, courriels="pas-un-courriel"), row(2)])
    report = import_lieux(path, "reseau-test", all_or_nothing=True)
    assert report.created == 2
    assert [(c.row, c.field) for c in report.corrections] == [(2, "courriels")]
    assert "Valeurs corrigées, écartées ou à vérifier dans les lignes importées : 1" in report.summary_lines()


def test_every_row_rejected_is_status_2(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(1, nom=""), row(2, nom="")])
    report = import_lieux(path, "reseau-test")
    assert report.exit_status == 2 and report.rejected == 2 and Lieu.objects.count() == 0
    assert "Rien n'a été importé." in report.summary_lines()


def test_all_or_nothing_with_a_bad_row_writes_nothing(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 8)] + [row(8, frais_a_charge="Selon l'humeur")])
    with CaptureQueriesContext(connection) as queries:
        report = import_lieux(path, "reseau-test", all_or_nothing=True, batch_size=2)
    assert report.exit_status == 2
    assert report.rejected == 1 and report.rejections[0].row == 9 and report.rejections[0].field == "frais_a_charge"
    assert report.created == 0 and Lieu.objects.count() == 0 and SourceRecord.objects.count() == 0
    assert writes(queries.captured_queries) == []


def test_all_or_nothing_with_a_valid_file_imports_everything(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 8)])
    report = import_lieux(path, "reseau-test", all_or_nothing=True, batch_size=2)
    assert report.exit_status == 0 and report.created == 7 and Lieu.objects.count() == 7


def test_all_or_nothing_rolls_back_when_a_batch_fails(tmp_path, reims, monkeypatch):
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 8)])
    fail_create_at(monkeypatch, 3, engine.ImportAborted("panne simulée"))
    report = import_lieux(path, "reseau-test", all_or_nothing=True, batch_size=2)
    assert report.exit_status == 2 and "panne simulée" in report.fatal
    assert Lieu.objects.count() == 0 and SourceRecord.objects.count() == 0


def test_dry_run_writes_nothing_but_counts(tmp_path, reims):
    path = write_csv(tmp_path / "lieux.csv", [row(1), row(2), row(3, services="Inconnu")])
    with CaptureQueriesContext(connection) as queries:
        report = import_lieux(path, "reseau-test", dry_run=True)
    assert writes(queries.captured_queries) == []
    assert (report.created, report.rejected, report.exit_status) == (2, 1, 1)
    assert Lieu.objects.count() == 0
    assert "simulation" in report.summary_lines()[0]

    import_lieux(path, "reseau-test")
    write_csv(path, [row(1), row(2, nom="Autre"), row(3)])
    report = import_lieux(path, "reseau-test", dry_run=True)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert Lieu.objects.get(id_standard="lieu-2").nom == "Médiathèque numéro 2"


class FakeGeocoder:
    def __init__(self, answers):
        self.answers = answers
        self.batches = []

    def geocode_many(self, queries):
        self.batches.append(list(queries))
        return [self.answers.get(q.adresse) for q in queries]


def test_rows_without_coordinates_are_geocoded_or_placed_at_their_commune(tmp_path, reims):
    from mednum.geo.geocoder import GeocodeResult

    rows = [row(1, latitude="", longitude=""), row(2, latitude="", longitude=""), row(3),
            row(4, latitude="", longitude="", code_postal="99999", code_insee="", commune="Nullepart")]
    geocoder = FakeGeocoder({"1 rue de Vesle": GeocodeResult(49.25, 4.02, 0.9, "51454")})
    report = import_lieux(write_csv(tmp_path / "l.csv", rows), "reseau-test", geocoder=geocoder)
    assert report.exit_status == 0, report.rejections
    assert len(geocoder.batches) == 1 and len(geocoder.batches[0]) == 3  # one call per batch
    assert geocoder.batches[0][0].code_insee == "51454" and geocoder.batches[0][0].code_postal == "51100"
    lieux = {lieu.id_standard: lieu for lieu in Lieu.objects.all()}
    assert (lieux["lieu-1"].latitude, lieux["lieu-1"].position_precision) == (49.25, PositionPrecision.ADRESSE)
    assert (lieux["lieu-2"].latitude, lieux["lieu-2"].position_precision) == (49.2628, PositionPrecision.COMMUNE)
    assert lieux["lieu-3"].position_precision == PositionPrecision.SOURCE
    assert (lieux["lieu-4"].latitude, lieux["lieu-4"].position_precision) == (None, PositionPrecision.AUCUNE)
    assert (report.geocoded, report.placed_at_commune, report.without_position) == (1, 1, 1)

    # A re-import does not geocode unchanged rows again.
    import_lieux(tmp_path / "l.csv", "reseau-test", geocoder=geocoder)
    assert len(geocoder.batches) == 1


def test_rows_are_committed_by_whole_batches_per_transaction(tmp_path, reims, monkeypatch):
    """A transaction holds whole batches until `transaction_rows` rows are written; an error rolls back
    the open transaction only, and the report counts only the rows that stayed."""
    from django.db import DatabaseError

    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 12)])
    real = engine._Importer._create
    calls = fail_create_at(monkeypatch, 5, DatabaseError("disque plein (simulé)"))
    report = import_lieux(path, "reseau-test", batch_size=2, transaction_rows=5)
    # Batches of 2 rows: the first transaction is committed after 3 batches (6 rows ≥ 5); the fifth
    # batch fails inside the second one, which loses its fourth batch too.
    assert calls == [2, 2, 2, 2, 2]
    assert report.exit_status == 2 and "disque plein" in report.fatal
    assert "les précédentes sont enregistrées" in report.fatal
    assert sorted(Lieu.objects.values_list("id_standard", flat=True)) == [f"lieu-{n}" for n in range(1, 7)]
    assert SourceRecord.objects.count() == 6
    assert (report.created, report.updated) == (6, 0)

    monkeypatch.setattr(engine._Importer, "_create", real)
    report = import_lieux(path, "reseau-test", batch_size=2, transaction_rows=5)
    assert (report.created, report.unchanged, report.exit_status) == (5, 6, 0)
    assert Lieu.objects.count() == 11


def test_the_geocoder_is_never_called_inside_a_transaction(tmp_path, reims):
    """Rows already written are committed before each call to the geocoder (a network call must not
    keep the database locked for writing)."""
    from mednum.geo.geocoder import GeocodeResult

    outside = len(connection.atomic_blocks)  # the test's own transaction, if any

    class Watching(FakeGeocoder):
        def geocode_many(self, queries):
            self.depths.append(len(connection.atomic_blocks))
            self.lieux_before.append(Lieu.objects.count())
            return super().geocode_many(queries)

    geocoder = Watching({"1 rue de Vesle": GeocodeResult(49.25, 4.02, 0.9, "51454")})
    geocoder.depths, geocoder.lieux_before = [], []
    rows = [row(n) for n in range(1, 9)]
    rows[2] = row(3, latitude="", longitude="")  # second batch
    rows[6] = row(7, latitude="", longitude="")  # fourth batch
    report = import_lieux(write_csv(tmp_path / "l.csv", rows), "reseau-test", geocoder=geocoder, batch_size=2,
                          transaction_rows=100)
    assert report.exit_status == 0 and report.created == 8
    assert geocoder.depths == [outside, outside]
    assert geocoder.lieux_before == [2, 6]  # the batches before each call were committed and are there
    assert report.placed_at_commune == 2


def test_a_failing_geocoder_does_not_stop_the_import(tmp_path, reims):
    class Broken:
        def geocode_many(self, queries):
            raise RuntimeError("service indisponible")

    report = import_lieux(write_csv(tmp_path / "l.csv", [row(1, latitude="", longitude="")]), "s", geocoder=Broken())
    assert report.exit_status == 0
    assert Lieu.objects.get().position_precision == PositionPrecision.COMMUNE


def test_json_file_and_v0_file(tmp_path, reims):
    report = import_lieux(write_json(tmp_path / "l.json", [row(1), row(2)]), "reseau-json")
    assert report.created == 2 and report.file_format == "json"
    v0 = {"id": "v0-1", "nom": "Espace numérique", "commune": "Reims", "code_postal": "51100",
          "adresse": "1 place Royale", "pivot": "00000000000000", "date_maj": "2023-01-05",
          "services": "Accéder à une connexion internet;Accéder à du matériel",
          "publics_accueillis": "Seniors (+ 65 ans)", "conditions_acces": "Gratuit : Je peux accéder gratuitement au lieu et à ses services"}
    report = import_lieux(write_json(tmp_path / "v0.json", [v0]), "reseau-v0")
    assert report.created == 1, report.rejections
    assert any("v0.1" in w for w in report.warnings)
    lieu = Lieu.objects.get(id_standard="v0-1")
    assert lieu.services == "Accès internet et matériel informatique"
    assert lieu.frais_a_charge == "Gratuit" and lieu.publics_specifiquement_adresses == "Seniors"


def test_rejections_in_memory_are_capped_but_the_csv_has_them_all(tmp_path, reims, monkeypatch):
    monkeypatch.setattr(engine, "MAX_REJECTIONS_IN_MEMORY", 3)
    path = write_csv(tmp_path / "l.csv", [row(n, nom="") for n in range(1, 11)] + [row(11)])
    report = import_lieux(path, "s", report_path=tmp_path / "r.csv")
    assert report.rejected == 10 and len(report.rejections) == 3 and report.rejections_truncated
    with open(tmp_path / "r.csv", encoding="utf-8-sig") as handle:
        assert len(list(csv.reader(handle))) == 1 + report.rejected_entries
    assert report.exit_status == 1


def test_progress_callback(tmp_path, reims, monkeypatch):
    monkeypatch.setattr(engine, "PROGRESS_EVERY", 2)
    calls = []
    import_lieux(write_csv(tmp_path / "l.csv", [row(n) for n in range(1, 6)]), "s",
                 progress=lambda stage, rows, total, elapsed: calls.append((stage, rows)))
    assert ("import", 2) in calls and ("import", 5) in calls


def test_source_name_is_required(tmp_path, reims):
    report = import_lieux(write_csv(tmp_path / "l.csv", [row(1)]), "  ")
    assert report.exit_status == 2 and "source est obligatoire" in report.fatal


def test_report_round_trip():
    report = engine.ImportReport(source="s", read=3, valid=2, created=2, rejected=1)
    report.rejections.append(engine.RejectedRow(4, "nom", "", "champ obligatoire manquant"))
    again = engine.ImportReport.from_dict(report.as_dict())
    assert again == report and again.exit_status == 1


def test_slug_follows_the_merge_module_rule(tmp_path, reims):
    from mednum.lieux.merge import make_slug

    path = write_csv(tmp_path / "l.csv", [row(1)])
    import_lieux(path, "A")
    import_lieux(path, "B")
    for lieu in Lieu.objects.all():
        assert lieu.slug == make_slug(lieu.nom, lieu.id_standard)
    write_csv(path, [row(1, nom="Renommé")])
    import_lieux(path, "B")
    lieu = Lieu.objects.get(id_standard="b_lieu-1")
    assert lieu.slug == make_slug("Renommé", "b_lieu-1")


def test_changed_record_of_a_merged_lieu_refreshes_it_from_all_its_records(tmp_path, reims, monkeypatch):
    path = write_csv(tmp_path / "l.csv", [row(1)])
    import_lieux(path, "A")
    import_lieux(path, "B")
    target = Lieu.objects.get(id_standard="lieu-1")
    emptied = Lieu.objects.get(id_standard="b_lieu-1")
    SourceRecord.objects.filter(source="B").update(lieu=target)  # as deduplication does
    Lieu.objects.filter(pk=emptied.pk).update(fusionne_dans=target)

    refreshed = []
    from mednum.lieux import merge

    def spy(lieu, *args, **kwargs):
        refreshed.append(lieu.pk)
        return merge.refresh_lieu(lieu, *args, **kwargs)

    monkeypatch.setattr(engine, "_refresh_lieu_function", lambda: spy)
    write_csv(path, [row(1, telephone="+33326999999", date_maj="2024-06-01")])
    report = import_lieux(path, "B")
    assert report.updated == 1 and refreshed == [target.pk]
    record = SourceRecord.objects.get(source="B")
    assert record.lieu_id == target.pk and record.normalised["telephone"] == "+33326999999"
    emptied.refresh_from_db()
    assert emptied.fusionne_dans_id == target.pk and emptied.source_records.count() == 0
    assert Lieu.objects.count() == 2


def test_v0_csv_with_spreadsheet_headers(tmp_path, reims):
    path = tmp_path / "v0.csv"
    path.write_text(
        "ID;Nom;Commune;Code_Postal;Adresse;Pivot;Date_MAJ;Services;Publics_Accueillis\n"
        "a1;Espace public numérique;Reims;51100;2 rue Cérès;00000000000000;2022-02-01;"
        "Accéder à une connexion internet;Seniors (+ 65 ans)\n",
        encoding="cp1252",
    )
    report = import_lieux(path, "v0-csv")
    assert report.exit_status == 0 and report.created == 1, (report.fatal, report.rejections)
    assert any("v0.1" in w for w in report.warnings) and any("Windows-1252" in w for w in report.warnings)
    assert Lieu.objects.get().publics_specifiquement_adresses == "Seniors"


def test_raw_json_is_always_valid_json(tmp_path, reims):
    """A JSON source may hold what orjson refuses (an integer over 64 bits) next to a NaN: the raw record is
    still stored as valid JSON (NaN as null, as orjson writes it), the big integer kept whole."""
    import json

    assert engine._DUMPS({"a": "é", "n": 1.5}) == json.dumps({"a": "é", "n": 1.5}, ensure_ascii=False,
                                                              separators=(",", ":"))
    assert engine._DUMPS({"big": 2**70, "x": float("nan")}) == '{"big":1180591620717411303424,"x":null}'
    path = tmp_path / "lieux.json"
    record = row(1)
    text = json.dumps([record], ensure_ascii=False)[:-2] + ', "compteur": 1180591620717411303424, "note": NaN}]'
    path.write_text(text, encoding="utf-8")
    report = import_lieux(path, "reseau-test")
    assert report.exit_status == 0, report.summary_lines()
    brut = SourceRecord.objects.get().raw
    assert brut["compteur"] == 2**70 and brut["note"] is None


def test_csv_report_says_how_many_corrections_it_does_not_list(tmp_path):
    report = engine.ImportReport(source="s", normaliser_warnings=1250)
    report.corrections = [engine.RejectedRow(n, "telephone", "12", "numéro court") for n in range(2, 1002)]
    report.write_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert len(lines) == 1 + 1000 + 1
    assert lines[-1][3] == "… et 250 autres valeurs corrigées, écartées ou à vérifier, non listées"
    assert engine.ImportReport.from_dict(report.as_dict()).corrections == report.corrections


def test_a_source_name_that_differs_only_in_case_or_accents_is_refused(tmp_path, reims):
    """Re-importing « Hinaura » as « hinaura » made a second source: a double of every one of its lieux."""
    path = write_csv(tmp_path / "lieux.csv", [row(1), row(2)])
    assert import_lieux(path, "Réseau Hinaura").created == 2
    for other in ("réseau hinaura", "Reseau  Hinaura.", " RÉSEAU-HINAURA "):
        report = import_lieux(path, other)
        assert report.exit_status == 2 and report.created == 0
        assert report.fatal.startswith(f"Aucune source ne s'appelle « {other.strip()} », mais la source « Réseau Hinaura » existe")
    assert Lieu.objects.count() == 2 and SourceRecord.objects.filter(source="Réseau Hinaura").count() == 2
    assert import_lieux(path, "Réseau Hinaura").unchanged == 2  # the exact name still updates its lieux
    assert import_lieux(path, "Hinaura").created == 2  # a really different name is another source
    assert engine.near_source_name("!!!") is None  # nothing left once folded: nothing to compare
