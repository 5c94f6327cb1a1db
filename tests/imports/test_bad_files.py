"""The bad-file corpus (fixtures/bad/README.md): a clear message each time, and the database unchanged
(or changed only by the valid rows, where that is the documented behaviour)."""

from __future__ import annotations

import json

import pytest

from mednum.imports.engine import import_lieux
from mednum.lieux.models import Lieu, PositionPrecision, SourceRecord
from tests.imports.conftest import BAD, DEMO, csv_text, row, write_csv

pytestmark = pytest.mark.django_db


def counts():
    return Lieu.objects.count(), SourceRecord.objects.count()


@pytest.fixture
def existing(tmp_path, reims):
    """One lieu already in the database, to check that a refused file leaves it alone."""
    report = import_lieux(write_csv(tmp_path / "deja.csv", [row(100)]), "deja")
    assert report.created == 1
    return counts()


@pytest.mark.parametrize("all_or_nothing", [False, True])
def test_latin1_declared_utf8(existing, all_or_nothing):
    report = import_lieux(BAD / "latin1.csv", "s", encoding="utf-8", all_or_nothing=all_or_nothing)
    assert report.exit_status == 2
    assert "n'est pas un fichier UTF-8 valide" in report.fatal
    data = (BAD / "latin1.csv").read_bytes()
    first = data.index(b"\xe9")  # the first "é" of the file, row 2
    line = data.count(b"\n", 0, first) + 1
    assert f"ligne {line}, {first + 1}e octet" in report.fatal
    assert "ligne 2, 474e octet" in report.fatal
    assert counts() == existing


def test_latin1_detected(existing):
    report = import_lieux(BAD / "latin1.csv", "s")
    assert report.exit_status == 0 and report.created == 2
    assert any("Windows-1252" in w for w in report.warnings)
    assert Lieu.objects.filter(nom="Médiathèque François-Mitterrand").exists()


def test_invalid_bytes(existing):
    report = import_lieux(BAD / "octets-invalides.csv", "s")
    assert report.exit_status == 2
    assert "Encodage incohérent" in report.fatal and "ligne 3" in report.fatal
    assert counts() == existing


def test_wrong_separator(existing):
    report = import_lieux(BAD / "mauvais-separateur.csv", "s")
    assert report.exit_status == 2 and report.rejected == 2 and report.created == 0
    first = report.rejections[0]
    assert first.row == 2 and "1 valeur(s)" in first.reason and "séparateur" in first.reason
    assert counts() == existing


def test_bom(existing):
    report = import_lieux(BAD / "bom.csv", "s")
    assert report.exit_status == 0 and report.created == 2
    assert SourceRecord.objects.filter(source="s", source_id="lieu-1").exists()


def test_missing_required_column(existing):
    report = import_lieux(BAD / "colonne-manquante.csv", "s")
    assert report.exit_status == 2
    assert "Colonne obligatoire absente" in report.fatal and "date_maj" in report.fatal and "ligne 1" in report.fatal
    assert counts() == existing


def test_unknown_enumeration_value(existing):
    report = import_lieux(BAD / "enumeration-inconnue.csv", "s")
    assert report.exit_status == 1 and report.created == 2 and report.rejected == 1
    rejected = report.rejections[0]
    assert (rejected.row, rejected.field, rejected.value) == (3, "services", "Réparation de vélos")
    assert "valeur inconnue" in rejected.reason
    assert counts() == (existing[0] + 2, existing[1] + 2)


def test_unknown_enumeration_value_all_or_nothing(existing):
    report = import_lieux(BAD / "enumeration-inconnue.csv", "s", all_or_nothing=True)
    assert report.exit_status == 2 and report.rejections[0].row == 3
    assert counts() == existing


def test_invalid_coordinates_are_dropped_and_the_commune_used(existing):
    report = import_lieux(BAD / "coordonnees-invalides.csv", "s")
    assert report.exit_status == 0 and report.created == 3
    lieux = {lieu.id_standard: lieu for lieu in Lieu.objects.filter(source_records__source="s")}
    for key in ("lieu-1", "lieu-2"):
        assert lieux[key].position_precision == PositionPrecision.COMMUNE
        assert (lieux[key].latitude, lieux[key].longitude) == (49.2628, 4.0347)
    assert lieux["lieu-3"].position_precision == PositionPrecision.SOURCE
    assert report.placed_at_commune == 2


@pytest.mark.parametrize(("name", "message"), [("vide.csv", "Le fichier est vide."),
                                               ("entete-seule.csv", "aucune ligne de données")])
def test_empty_files(existing, name, message):
    report = import_lieux(BAD / name, "s")
    assert report.exit_status == 2 and message in report.fatal
    assert counts() == existing


def test_ten_megabyte_field(existing, tmp_path):
    huge = "x" * (10 * 1024 * 1024)
    path = write_csv(tmp_path / "gros.csv", [row(1), row(2, presentation_detail=huge), row(3)])
    report = import_lieux(path, "s")
    assert report.exit_status == 1 and report.created == 2 and report.rejected == 1
    rejected = report.rejections[0]
    assert rejected.row == 3 and rejected.field == "presentation_detail"
    assert "valeur trop longue" in rejected.reason and "10\u202f485\u202f760 caractères" in rejected.reason
    assert len(rejected.value) < 300  # the value is cut in the report
    assert not SourceRecord.objects.filter(source="s", source_id="lieu-2").exists()


@pytest.mark.parametrize("all_or_nothing", [False, True])
def test_truncated_json(existing, tmp_path, all_or_nothing):
    data = (DEMO / "hinaura-v0.1.json").read_bytes()
    path = tmp_path / "tronque.json"
    path.write_bytes(data[: len(data) * 2 // 3])
    report = import_lieux(path, "hinaura", all_or_nothing=all_or_nothing, batch_size=50)
    assert report.exit_status == 2
    assert report.fatal.startswith("Fichier tronqué")
    assert "enregistrement n° 4" in report.fatal and "(ligne " in report.fatal
    assert counts() == existing  # not even the records before the cut
    assert "Rien n'a été importé." in report.summary_lines()


def test_json_syntax_error_midway(existing, tmp_path):
    items = [row(n) for n in range(1, 30)]
    text = json.dumps(items, ensure_ascii=False, indent=1)
    text = text.replace('"nom": "Médiathèque numéro 20"', '"nom" "Médiathèque numéro 20"')
    path = tmp_path / "casse.json"
    path.write_text(text, encoding="utf-8")
    report = import_lieux(path, "s", batch_size=5)
    assert report.exit_status == 2 and "JSON invalide" in report.fatal and "enregistrement n° 20" in report.fatal
    assert counts() == existing


def test_truncated_csv(existing, tmp_path):
    text = (BAD / "bom.csv").read_text(encoding="utf-8-sig") + '3,"coupé au milieu'
    path = tmp_path / "tronque.csv"
    path.write_text(text, encoding="utf-8")
    report = import_lieux(path, "s")
    assert report.exit_status == 2 and "Fichier tronqué : la ligne 4" in report.fatal
    assert counts() == existing


def _json_file(path, items) -> object:
    """A JSON file written with ASCII escapes, as many exports do: « \\u0000 », « \\ud800 » stay escapes."""
    path.write_text(json.dumps(items, ensure_ascii=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("pipeline", [False, True])
@pytest.mark.parametrize(("fmt", "column"), [("csv", "nom"), ("csv", "horaires"), ("json", "nom"), ("json", "adresse")])
def test_nul_character_rejects_its_row_only(existing, tmp_path, fmt, column, pipeline):
    """U+0000 in a value: PostgreSQL can store it neither as text nor in jsonb (where one such row used to
    roll back its whole transaction). The row is rejected, on every database, with its column; the others
    are imported, and the report (on screen and as CSV) shows the character as an escape."""
    rows = [row(1), row(2, **{column: row(2)[column][:5] + "\x00" + row(2)[column][5:]}), row(3)]
    path = write_csv(tmp_path / "nul.csv", rows) if fmt == "csv" else _json_file(tmp_path / "nul.json", rows)
    report_path = tmp_path / "rejets.csv"
    report = import_lieux(path, "s", pipeline=pipeline, report_path=report_path)
    assert report.exit_status == 1 and not report.fatal, report.summary_lines()
    assert (report.created, report.rejected) == (2, 1)
    rejected = report.rejections[0]
    assert rejected.row == (3 if fmt == "csv" else 2) and rejected.field == column
    assert "caractère nul (U+0000)" in rejected.reason
    assert "\x00" not in rejected.value and "\\u0000" in rejected.value
    assert "\\u0000" in report_path.read_text(encoding="utf-8-sig")
    assert set(SourceRecord.objects.filter(source="s").values_list("source_id", flat=True)) == {"lieu-1", "lieu-3"}
    assert counts() == (existing[0] + 2, existing[1] + 2)


@pytest.mark.parametrize("pipeline", [False, True])
def test_lone_surrogate_in_json_rejects_its_row_only(existing, tmp_path, pipeline):
    """« \\ud800 » alone is valid JSON syntax but no character: nothing can encode it. It used to stop the
    import with an exception (an internal error in the reader process)."""
    path = _json_file(tmp_path / "demi.json", [row(1), row(2, nom="Espace \ud83d numérique"), row(3),
                                                 {**row(4), "colonne \udc00": "x"}])
    report_path = tmp_path / "rejets.csv"
    report = import_lieux(path, "s", pipeline=pipeline, report_path=report_path)
    assert report.exit_status == 1 and not report.fatal, report.summary_lines()
    assert (report.created, report.rejected) == (2, 2)
    by_row = {r.row: r for r in report.rejections}
    assert by_row[2].field == "nom" and "moitié de paire de substitution" in by_row[2].reason
    assert "\\ud83d" in by_row[2].reason and by_row[2].value == "Espace \\ud83d numérique"
    assert by_row[4].field == "colonne_\\udc00" and "nom de la colonne" in by_row[4].reason
    report_path.read_text(encoding="utf-8-sig")  # the CSV report was written (no encoding error)
    assert counts() == (existing[0] + 2, existing[1] + 2)


def test_literal_backslash_u0000_text_is_not_a_nul_character(existing, tmp_path):
    """The six characters « \\u0000 » typed in a value are ordinary text: the row is imported as is."""
    path = write_csv(tmp_path / "texte.csv", [row(1, presentation_resume="code \\u0000 écrit en toutes lettres")])
    report = import_lieux(path, "s")
    assert report.exit_status == 0 and report.created == 1
    assert SourceRecord.objects.get(source="s").raw["presentation_resume"] == "code \\u0000 écrit en toutes lettres"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("extra", "reason"), [
    (_nested(5_000), "enregistrement trop imbriqué"),
    (_nested(200_000), "enregistrement trop imbriqué"),
    ("9" * 4301, "nombre trop long (plus de 4 300 chiffres)"),
])
def test_json_python_cannot_read_refuses_the_file(existing, tmp_path, extra, reason):
    """Valid JSON that Python's parser refuses: nested deeper than it goes (a RecursionError), an integer
    of more than 4,300 digits (a ValueError); both used to end the import with the exception. The file is
    refused like a syntax error, with the record's number and position; nothing is written."""
    second = json.dumps(row(2))[:-1] + f', "extra": {extra}}}'
    path = tmp_path / "illisible.json"
    path.write_text(f"[{json.dumps(row(1))},\n{second},\n{json.dumps(row(3))}]", encoding="utf-8")
    report = import_lieux(path, "s")
    assert report.exit_status == 2
    assert report.fatal.startswith(f"JSON illisible ligne 2, colonne 1 (enregistrement n° 2) : {reason}")
    assert counts() == existing


def test_nested_json_values_are_kept_in_the_source_record(existing, tmp_path):
    path = tmp_path / "imbrique.json"
    path.write_text(f"[{json.dumps(row(1))[:-1]}, \"extra\": {_nested(300)}}}]", encoding="utf-8")
    report = import_lieux(path, "s")
    assert report.exit_status == 0 and report.created == 1
    depth, value = 0, SourceRecord.objects.get(source="s").raw["extra"]
    while value:
        depth, value = depth + 1, value[0]
    assert depth == 299  # the innermost [] is empty


def test_record_too_deep_to_write_as_json_is_rejected(existing, tmp_path, monkeypatch):
    """orjson stops at 255 levels; the general JSON writer may then run out of recursion: that row alone
    is rejected, with the reason."""
    from mednum.imports import engine

    general = engine._DUMPS

    def dumps(value):
        if isinstance(value, dict) and "extra" in value:
            raise RecursionError("maximum recursion depth exceeded")
        return general(value)

    monkeypatch.setattr(engine, "_DUMPS", dumps)
    second = json.dumps(row(2))[:-1] + f', "extra": {_nested(300)}}}'
    path = tmp_path / "imbrique.json"
    path.write_text(f"[{json.dumps(row(1))},{second},{json.dumps(row(3))}]", encoding="utf-8")
    report = import_lieux(path, "s")
    assert report.exit_status == 1 and (report.created, report.rejected) == (2, 1)
    assert report.rejections[0].row == 2 and "trop imbriqué" in report.rejections[0].reason


def test_not_a_text_file(existing, tmp_path):
    """A spreadsheet, an archive or an image renamed .csv: said in words, not as an encoding problem."""
    cases = {
        "classeur.csv": (b"PK\x03\x04" + bytes(range(256)) * 4, "classeur Excel (.xlsx) ou LibreOffice (.ods)"),
        "ancien.csv": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "Excel ancien format (.xls)"),
        "image.csv": (b"\x89PNG\r\n\x1a\n" + bytes(100), "une image PNG"),
        "archive.json": (b"\x1f\x8b\x08\x00" + bytes(100), "compressé (gzip)"),
        "utf32.csv": ("id,nom\n1,a\n".encode("utf-32-le"), "octets nuls"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        report = import_lieux(path, "s")
        assert report.exit_status == 2 and message in report.fatal, (name, report.fatal)
        assert "CSV UTF-8" in report.fatal
    assert counts() == existing


@pytest.mark.parametrize("encoding", [None, "utf-16"])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(existing, tmp_path, codec, encoding):
    """UTF-16 without a BOM (some exports): found from its zero bytes, or read as declared (« utf-16 »
    without a BOM used to end the import with a UnicodeError)."""
    path = tmp_path / "utf16.csv"
    path.write_bytes(csv_text([row(1), row(2)]).encode(codec))
    report = import_lieux(path, "s", encoding=encoding)
    assert report.exit_status == 0 and report.created == 2, report.summary_lines()
    assert Lieu.objects.filter(nom="Médiathèque numéro 2").exists()


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib", "undefined", "pas-un-encodage"])
def test_declared_encoding_that_is_not_a_text_encoding(existing, tmp_path, encoding):
    report = import_lieux(write_csv(tmp_path / "ok.csv", [row(1)]), "s", encoding=encoding)
    assert report.exit_status == 2
    assert report.fatal.startswith(f"Encodage inconnu : « {encoding} »")
    assert counts() == existing


def test_path_that_is_a_folder(existing, tmp_path):
    report = import_lieux(tmp_path, "s")
    assert report.exit_status == 2 and report.fatal == f"{tmp_path} est un dossier, pas un fichier."


@pytest.mark.parametrize("where", ["folder", "missing parent"])
def test_report_that_cannot_be_written(existing, tmp_path, where):
    target = tmp_path if where == "folder" else tmp_path / "absent" / "sous" / "rejets.csv"
    if where == "missing parent":
        (tmp_path / "absent").write_text("un fichier, pas un dossier")
    report = import_lieux(write_csv(tmp_path / "ok.csv", [row(1)]), "s", report_path=target)
    assert report.exit_status == 2
    assert report.fatal.startswith("Impossible d'écrire le rapport des lignes rejetées")
    assert counts() == existing


@pytest.mark.parametrize("source", ["R\udce9seau", "a\x00b"])
def test_source_name_with_a_character_no_database_stores(existing, tmp_path, source):
    """« R\\udce9seau » is what Python makes of « Réseau » typed in a Latin-1 terminal."""
    report = import_lieux(write_csv(tmp_path / "ok.csv", [row(1)]), source)
    assert report.exit_status == 2 and "Le nom de la source contient un caractère invalide" in report.fatal
    "\n".join(report.summary_lines()).encode("utf-8")  # printable
    assert counts() == existing


def test_truncated_csv_found_midway_says_what_stays(existing, tmp_path):
    """A stray quote inside an unquoted value (« 4 rue "de Vesle ») makes the count of quotes even
    although the file ends inside a quoted value: the cut is found only while importing, after
    transactions were committed. The report says so, with the counts of what stays."""
    rows = [row(n) for n in range(1, 13)]
    rows[2]["adresse"] = '3 rue "de Vesle'
    text = csv_text(rows).replace('"3 rue ""de Vesle"', '3 rue "de Vesle')  # as a careless export writes it
    text += 'lieu-99,,"Médiathèque coupée'
    assert text.count('"') % 2 == 0
    path = tmp_path / "coupe.csv"
    path.write_text(text, encoding="utf-8")
    report = import_lieux(path, "s", batch_size=2, transaction_rows=4, pipeline=False)
    assert report.exit_status == 2
    assert report.fatal.startswith("Fichier tronqué : la ligne 14")
    assert f"Les {report.created} lieux enregistrés avant cette erreur le restent" in report.fatal
    assert report.created >= 4
    assert counts() == (existing[0] + report.created, existing[1] + report.created)
    assert f"Lieux créés : {report.created}" in report.summary_lines()
    assert "Rien n'a été importé." not in report.summary_lines()


def test_json_with_a_mapping_warns_of_columns_absent_from_the_first_record(existing, tmp_path):
    """A CSV header is checked against the mapping; a JSON file was not, and a misspelt column left its
    field empty in every row without a word. Objects may leave keys out: a warning, not a refusal."""
    mapping = tmp_path / "correspondance.json"
    mapping.write_text(json.dumps({"format": "mednum/correspondance-1", "champs": {
        "id": {"colonne": "ID"}, "nom": {"colonne": "Nom"}, "commune": {"colonne": "Ville"},
        "code_postal": {"colonne": "CP"}, "date_maj": {"colonne": "MAJ"}, "adresse": {"colonne": "Adresse"},
        "telephone": {"colonne": "Telephone_typo"},
    }}), encoding="utf-8")
    path = tmp_path / "source.json"
    path.write_text(json.dumps([{"ID": "1", "Nom": "Espace", "Ville": "Reims", "CP": "51100", "MAJ": "2024-01-02",
                                 "Adresse": "1 rue de Vesle", "Téléphone": "03 26 00 00 00"}]), encoding="utf-8")
    report = import_lieux(path, "s", mapping=mapping)
    assert report.exit_status == 0 and report.created == 1
    assert any("« Telephone_typo » (pour telephone)" in w and "Vérifiez leur orthographe" in w for w in report.warnings)


def test_excel_separator_line(existing, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\n" + csv_text([row(1), row(2)], delimiter=";"), encoding="utf-8")
    report = import_lieux(path, "s")
    assert report.exit_status == 0 and report.created == 2
    path.write_text("sep=;\nid;nom\n1;a\n", encoding="utf-8")
    report = import_lieux(path, "s")
    assert report.exit_status == 2 and "absentes de l'en-tête (ligne 2)" in report.fatal
