"""Reading files: encodings, separators, headers, row numbers, streamed JSON, file-level errors."""

from __future__ import annotations

import codecs
import io
import json

import pytest

from mednum.imports.readers import (
    BadRow,
    ImportFileError,
    detect_encoding,
    guess_delimiter,
    iter_json_array,
    normalise_key,
    open_source,
)


def records(path, **kwargs):
    return list(open_source(path, **kwargs).records())


# --- encodings ------------------------------------------------------------------------------------


def test_utf8_without_bom(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("id;nom\n1;Médiathèque\n".encode())
    source = open_source(path)
    assert source.info.encoding == "utf-8"
    assert records(path) == [(2, {"id": "1", "nom": "Médiathèque"})]


def test_utf8_bom_is_removed_from_the_first_column_name(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(codecs.BOM_UTF8 + "id,nom\n1,Café\n".encode())
    assert open_source(path).info.encoding == "utf-8-sig"
    assert records(path) == [(2, {"id": "1", "nom": "Café"})]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path, encoding):
    path = tmp_path / "a.csv"
    text = "id\tnom\n1\tÉcole\n"
    data = text.encode("utf-16") if encoding == "utf-16" else (
        (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + text.encode(encoding)
    )
    path.write_bytes(data)
    assert open_source(path).info.encoding == "utf-16"
    assert records(path) == [(2, {"id": "1", "nom": "École"})]


@pytest.mark.parametrize(("encoding", "declared"), [("utf-32", None), ("utf-32-be", "utf-32-be"), ("utf-32-le", "UTF32")])
def test_utf32_is_refused_with_its_name(tmp_path, encoding, declared):
    """A UTF-32 file with BOM was read as UTF-16: every field was rejected for « caractère nul »."""
    path = tmp_path / "lieux.csv"
    path.write_bytes("id,nom\nlieu-1,Médiathèque\n".encode(encoding))
    with pytest.raises(ImportFileError, match="UTF-32"):
        open_source(path, encoding=declared)


def test_latin1_file_is_read_as_windows_1252(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("id;nom\n1;Médiathèque – Œuvre\n".encode("cp1252"))
    source = open_source(path)
    assert source.info.encoding == "cp1252"
    assert "Windows-1252" in source.info.warnings[0]
    assert records(path) == [(2, {"id": "1", "nom": "Médiathèque – Œuvre"})]


def test_latin1_file_declared_utf8_names_line_and_byte(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("id;nom\n1;Ecole\n2;Médiathèque\n".encode("latin-1"))
    with pytest.raises(ImportFileError) as error:
        open_source(path, encoding="utf-8")
    message = str(error.value)
    assert "UTF-8" in message and "ligne 3" in message and "19e octet" in message and "0xE9" in message
    assert error.value.line == 3 and error.value.offset == 18


def test_mixed_encodings_are_refused_with_the_position(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("id;nom\n1;Médiathèque\n".encode() + "2;Café\n".encode("latin-1"))
    with pytest.raises(ImportFileError) as error:
        open_source(path)
    assert "Encodage incohérent" in str(error.value)
    assert "ligne 3" in str(error.value)


def test_invalid_byte_in_utf8_after_a_chunk_boundary(tmp_path, monkeypatch):
    from mednum.imports import readers

    monkeypatch.setattr(readers, "CHUNK_BYTES", 7)
    path = tmp_path / "a.csv"
    path.write_bytes("id;nom\n1;é\n2;".encode() + b"\xff\n")
    with pytest.raises(ImportFileError) as error:
        detect_encoding(path, "utf-8")
    assert error.value.offset == 14 and error.value.line == 3


def test_unknown_declared_encoding(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    with pytest.raises(ImportFileError, match="Encodage inconnu"):
        open_source(path, encoding="klingon")


# --- CSV ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("id,nom,commune", ","),
        ("id;nom;commune", ";"),
        ("id\tnom\tcommune", "\t"),
        ("id|nom|commune", "|"),  # only when there is nothing else
        ("id;nom|prenom;commune", ";"),  # `|` never wins over a real separator
        ("id", ","),
    ],
)
def test_guess_delimiter(header, expected):
    assert guess_delimiter(header + "\n") == expected


def test_header_is_normalised(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(" ID ;Code Postal; Nom \n1;51100;X\n", encoding="utf-8")
    assert records(path) == [(2, {"id": "1", "code_postal": "51100", "nom": "X"})]
    # With a mapping, the source's column names are kept as written (only stripped).
    assert records(path, normalise_keys=False) == [(2, {"ID": "1", "Code Postal": "51100", "Nom": "X"})]
    assert normalise_key("\ufeff Code  Postal ") == "code_postal"


def test_decomposed_accents_in_the_header_are_composed(tmp_path):
    """macOS may write « é » as « e » + U+0301: the column must still be found by its usual spelling."""
    path = tmp_path / "a.csv"
    path.write_text("ID;Dernie\u0300re MAJ;Te\u0301le\u0301phone\n1;2024-01-02;0102030405\n", encoding="utf-8")
    assert records(path, normalise_keys=False) == [(2, {"ID": "1", "Dernière MAJ": "2024-01-02", "Téléphone": "0102030405"})]
    assert records(path)[0][1]["téléphone"] == "0102030405"
    json_path = tmp_path / "a.json"
    json_path.write_text('[{"Te\u0301le\u0301phone": "01"}]', encoding="utf-8")
    assert records(json_path, normalise_keys=False) == [(1, {"Téléphone": "01"})]


def test_rows_of_separators_only_are_blank_lines(tmp_path):
    """Spreadsheets leave rows like « ;;; » after the data: skipped, not rejected."""
    path = tmp_path / "a.csv"
    path.write_text("id;nom;commune\n1;a;b\n;;\n;;;;\n ; ;\n2;c;d\n", encoding="utf-8")
    assert records(path) == [(2, {"id": "1", "nom": "a", "commune": "b"}), (6, {"id": "2", "nom": "c", "commune": "d"})]


def test_json_keys_naming_the_same_column_reject_the_record(tmp_path):
    """« nom » and « Nom » are the same column once normalised: the last one used to win silently."""
    path = tmp_path / "a.json"
    path.write_text('[{"id": "1", "nom": "un", "Nom": "deux"}, {"id": "2", "nom": "ok"}]', encoding="utf-8")
    rows = records(path)
    assert rows[0][0] == 1 and isinstance(rows[0][1], BadRow)
    assert rows[0][1].field == "nom" and "« nom » et « Nom » désignent la même colonne" in rows[0][1].reason
    assert rows[1] == (2, {"id": "2", "nom": "ok"})


def test_row_numbers_count_records_as_a_spreadsheet_does(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,nom\n1,"sur\ndeux lignes"\n\n3,"c"\n', encoding="utf-8")
    assert records(path) == [(2, {"id": "1", "nom": "sur\ndeux lignes"}), (4, {"id": "3", "nom": "c"})]


def test_wrong_number_of_values_is_a_bad_row(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id;nom;commune\n1;a;b\n2,a,b\n3;a;b;;\n4;a\n", encoding="utf-8")
    rows = records(path)
    assert rows[0] == (2, {"id": "1", "nom": "a", "commune": "b"})
    assert rows[1][0] == 3 and isinstance(rows[1][1], BadRow)
    assert "1 valeur(s)" in rows[1][1].reason and "séparateur" in rows[1][1].reason
    assert rows[2] == (4, {"id": "3", "nom": "a", "commune": "b"})  # trailing empty values are fine
    assert rows[3][0] == 5 and "2 valeur(s)" in rows[3][1].reason


def test_malformed_quoting_is_a_bad_row_and_reading_goes_on(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,nom\n1,"a"b\n2,c\n', encoding="utf-8")
    rows = records(path)
    assert rows[0][0] == 2 and isinstance(rows[0][1], BadRow) and "mal formée" in rows[0][1].reason
    assert rows[1] == (3, {"id": "2", "nom": "c"})


def test_unterminated_quote_at_end_is_a_truncated_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,nom\n1,a\n2,"tronqu', encoding="utf-8")
    source = open_source(path)
    assert source.info.needs_structure_pass()  # odd number of quotes
    with pytest.raises(ImportFileError, match="Fichier tronqué : la ligne 3"):
        list(source.records())


def test_even_quotes_need_no_structure_pass(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,nom\n1,"a ""b"""\n', encoding="utf-8")
    assert not open_source(path).info.needs_structure_pass()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Le fichier est vide"),
        (b"\n\n  \n", "ne contient que des espaces"),
        (b"id,,nom\n1,2,3\n", "n° 2 n'ont pas de nom"),
        (b"id,nom,NOM\n1,2,3\n", "« NOM » apparaît deux fois"),
    ],
)
def test_file_level_errors(tmp_path, content, message):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        records(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImportFileError, match="introuvable"):
        open_source(tmp_path / "absent.csv")


# --- JSON -----------------------------------------------------------------------------------------


def test_json_array_is_streamed_across_small_chunks():
    items = [{"id": str(i), "nom": "é" * (i % 7), "n": i * 1.5, "l": [1, 2], "x": None} for i in range(200)]
    text = json.dumps(items, ensure_ascii=False, indent=2)
    for chunk in (1, 3, 16, 1000):
        assert list(iter_json_array(io.StringIO(text), chunk_chars=chunk)) == [(i + 1, item) for i, item in enumerate(items)]


def test_json_numbers_cut_by_the_buffer_are_read_whole():
    text = "[12345678, 3.14159, -2e10]"
    assert [v for _, v in iter_json_array(io.StringIO(text), chunk_chars=2)] == [12345678, 3.14159, -2e10]


def test_json_big_record_grows_the_buffer():
    big = {"id": "1", "presentation_detail": "x" * 300_000}
    text = json.dumps([big, {"id": "2"}])
    assert [v["id"] for _, v in iter_json_array(io.StringIO(text), chunk_chars=1024)] == ["1", "2"]


def test_json_record_numbers_and_non_objects(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"ID": "1", "Nom": "a"}, 3, {"id": "2"}]', encoding="utf-8")
    rows = records(path)
    assert rows[0] == (1, {"id": "1", "nom": "a"})
    assert rows[1][0] == 2 and isinstance(rows[1][1], BadRow)
    assert rows[2] == (3, {"id": "2"})


def test_empty_json_array(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("[ ]", encoding="utf-8")
    assert records(path) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"id": "1"}, {"id": "2"', "Fichier tronqué : le fichier s'arrête au milieu de l'enregistrement n° 2"),
        ('[{"id": "1"}, {"id": "2", "nom": "abc', "au milieu de l'enregistrement n° 2"),
        ('[{"id": "1"},', "Fichier tronqué : le fichier s'arrête après l'enregistrement n° 1"),
        ('[{"id": "1"}\n', "Fichier tronqué"),
        ('[{"id": "1"} {"id": "2"}]', "JSON invalide ligne 1, colonne 14 (enregistrement n° 2) : virgule"),
        ('[{"id": "1"},\n {"id" "2"}]', "JSON invalide ligne 2, colonne 8 (enregistrement n° 2) : deux-points"),
        ('[{"id": "1"}] x', "contenu inattendu après la fin du tableau"),
        ('{"id": "1"}', "tableau d'objets"),
    ],
)
def test_json_structure_errors(tmp_path, text, message):
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError) as error:
        records(path)
    assert message in str(error.value)


def test_truncated_json_reports_line_of_the_cut_record(tmp_path):
    items = [{"id": str(i), "nom": f"Lieu {i}"} for i in range(50)]
    text = json.dumps(items, indent=1)
    path = tmp_path / "a.json"
    cut = text.index('"Lieu 30"')
    path.write_text(text[:cut], encoding="utf-8")
    with pytest.raises(ImportFileError) as error:
        records(path)
    assert "enregistrement n° 31" in str(error.value)
    assert error.value.line == text.count("\n", 0, text[:cut].rfind("{")) + 1
    assert f"(ligne {error.value.line}, colonne 2)" in str(error.value)
    assert error.value.row == 31


@pytest.mark.parametrize("name", ["donnees", "export.txt"])
def test_format_is_guessed_from_content_without_extension_or_as_txt(tmp_path, name):
    path = tmp_path / name
    path.write_text('[{"id": "1"}]', encoding="utf-8")
    assert open_source(path).info.format == "json"
    path.write_text("id,nom\n1,a\n", encoding="utf-8")
    assert open_source(path).info.format == "csv"


def test_excel_separator_line_names_the_separator(tmp_path):
    """Excel writes « sep=; » on the first line to name the separator: the header is the next line, and
    row numbers stay those a spreadsheet shows."""
    path = tmp_path / "a.csv"
    path.write_text("\ufeffsep=;\r\nid;nom\r\n1;a, b\r\n2;c\r\n", encoding="utf-8")
    source = open_source(path)
    assert source.info.delimiter == ";" and source.columns == ["id", "nom"]
    assert list(source.records()) == [(3, {"id": "1", "nom": "a, b"}), (4, {"id": "2", "nom": "c"})]
    path.write_text("sep=,\nid,id\n1,2\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="En-tête ligne 2 : la colonne « id » apparaît deux fois"):
        open_source(path)


def test_invisible_characters_in_column_names_are_dropped(tmp_path):
    """A zero-width space or a stray control character before « id » made « id » missing although
    visible in the file."""
    path = tmp_path / "a.csv"
    path.write_text("\u200bid;n\u00adom;\x01commune\n1;a;b\n", encoding="utf-8")
    assert records(path) == [(2, {"id": "1", "nom": "a", "commune": "b"})]
