"""Reading source files record by record: CSV or JSON, any usual encoding, never the whole file in memory.

`open_source(path)` looks at the file once (encoding, format, CSV separator, header) and returns a
`SourceFile` whose `records()` can be iterated as many times as needed (the import engine reads a file
twice in all-or-nothing mode). Each record comes with its row number as a person would count it:

* CSV: the header is row 1, the first data record row 2 — the row number a spreadsheet shows
  (a record whose quoted value spans several physical lines still counts as one row);
* JSON: the index of the object in the top-level array, plus one.

A record is a `dict` (column → value). A record that cannot be read as one (wrong number of columns,
a JSON element that is not an object, a malformed CSV line) comes as a `BadRow` instead, so the engine
reports it as a rejected row and goes on.

Problems with the file as a whole (empty, unknown format, invalid bytes for its encoding, truncated,
JSON syntax error, duplicate or empty column names) raise `ImportFileError`, whose message is in French
and names the position (row, line, byte offset) where it could.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mednum.standard.text import composed

CHUNK_BYTES = 1 << 20
# A single JSON record larger than this is refused (protects memory against a runaway string).
MAX_RECORD_CHARS = 64 * 1024 * 1024
# Largest CSV value read at all; values above the engine's own limit are rejected row by row.
CSV_FIELD_LIMIT = 32 * 1024 * 1024
# Column separators tried on the header line, in order of preference. `|` separates the values of a
# multi-valued field in the standard, so it is only used when the header contains none of these.
CSV_DELIMITERS = (",", ";", "\t")

ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (avec BOM)",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (petit-boutiste, sans BOM)",
    "utf-16-be": "UTF-16 (gros-boutiste, sans BOM)",
    "cp1252": "Windows-1252",
    "latin-1": "ISO-8859-1 (latin-1)",
}
DELIMITER_LABELS = {",": "virgule", ";": "point-virgule", "\t": "tabulation", "|": "barre verticale"}


class ImportFileError(Exception):
    """The file cannot be read as a whole. `str(error)` is a French message for the person importing."""

    def __init__(self, message: str, *, line: int | None = None, offset: int | None = None, row: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.offset = offset
        self.row = row


@dataclass(frozen=True, slots=True)
class BadRow:
    """A record that could not be read as a set of columns; reported as a rejected row."""

    reason: str
    field: str = ""
    value: str = ""


@dataclass
class FileInfo:
    path: Path
    format: str  # "csv" or "json"
    encoding: str
    size: int
    delimiter: str | None = None
    header: list[str] | None = None
    warnings: list[str] = field(default_factory=list)
    lines_before_header: int = 0  # 1 for a first line « sep=; » (written by Excel)

    def needs_structure_pass(self) -> bool:
        """Whether only a full parse can tell that the file reads to its end.

        JSON: always (truncation and syntax errors). CSV: a file ending inside a quoted value has an
        odd number of `"` characters (quotes inside values are doubled), which a byte count finds at
        disk speed; only then (or for UTF-16, where bytes cannot be counted so) is a parse needed.
        """
        if self.format != "csv":
            return True
        if self.encoding.startswith("utf-16"):
            return True
        return count_byte(self.path, b'"') % 2 == 1

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)


def normalise_key(name: str) -> str:
    """Column name as the standard writes it: no BOM, no surrounding blanks, lower case, `_` for blanks."""
    name = _column_name(name.replace("\ufeff", "").strip()).lower()
    return "_".join(name.split())


def _column_name(name: str) -> str:
    """A column name with its accents composed (`composed`), without invisible characters (zero-width
    spaces, BOMs, control characters) that editors leave."""
    if name.isascii() and name.isprintable():
        return name
    return composed("".join(char for char in name if unicodedata.category(char) not in ("Cf", "Cc")))


# --- Encoding -------------------------------------------------------------------------------------

_UTF8_ACCENT = re.compile(rb"[\xc3\xc5][\x80-\xbf]")  # é, à, ç, œ… as UTF-8 bytes
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def _position_message(offset: int, line: int) -> str:
    return f"ligne {line}, {offset + 1}e octet du fichier"


def _validate(path: Path, encoding: str) -> tuple[int, int, bool] | None:
    """Decode the whole file strictly. None when valid, else (byte offset, line, UTF-8 accents seen before)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0  # bytes handed to the decoder so far
    lines = 1
    accents = False
    newline = None if encoding.startswith("utf-16") else "\n".encode(encoding)
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            final = not chunk
            pending = decoder.getstate()[0] if not encoding.startswith("utf-16") else b""
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as error:
                data = pending + chunk
                start = max(error.start, 0)
                before = data[:start]
                if newline:
                    lines += before.count(newline)
                if not accents and _UTF8_ACCENT.search(before):
                    accents = True
                return offset - len(pending) + start, lines, accents
            if final:
                return None
            lines += text.count("\n")
            if not accents and not chunk.isascii() and _UTF8_ACCENT.search(chunk):
                accents = True
            offset += len(chunk)


def count_byte(path: Path, byte: bytes) -> int:
    """How many times `byte` occurs in the file (read in chunks, at disk speed)."""
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            count += chunk.count(byte)
    return count


def _file_has(path: Path, pattern: re.Pattern, start: int = 0) -> bool:
    with open(path, "rb") as handle:
        handle.seek(start)
        tail = b""
        while chunk := handle.read(CHUNK_BYTES):
            if pattern.search(tail + chunk):
                return True
            tail = chunk[-1:]
    return False


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 without a BOM, from its first two characters (ASCII, as a header or « [ » is): one zero
    byte in each pair. None for anything else."""
    if len(head) < 4:
        return None
    if head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    return None


# First bytes of files people export by mistake instead of CSV or JSON → what the file is.
_NOT_TEXT = (
    (b"PK\x03\x04", "un classeur Excel (.xlsx) ou LibreOffice (.ods), ou une archive ZIP"),
    (b"\xd0\xcf\x11\xe0", "un classeur Excel ancien format (.xls)"),
    (b"\x1f\x8b", "un fichier compressé (gzip)"),
    (b"%PDF", "un document PDF"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
)


def _refuse_binary(head: bytes) -> None:
    for magic, what in _NOT_TEXT:
        if head.startswith(magic):
            raise ImportFileError(
                f"Ce fichier est {what}, pas un fichier CSV ou JSON. Depuis un tableur, enregistrez la "
                "feuille au format « CSV UTF-8 » puis importez ce fichier-là."
            )
    if b"\x00" in head and _utf16_without_bom(head) is None and not head.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise ImportFileError(
            "Ce fichier contient des octets nuls dès son début : ce n'est pas un fichier texte CSV ou JSON "
            "lisible (fichier binaire, ou encodage UTF-32). Enregistrez-le en « CSV UTF-8 »."
        )


def detect_encoding(path: Path, declared: str | None = None) -> str:
    """Encoding of the file, checked over the whole file (a cheap byte-level pass).

    A BOM decides (UTF-8 or UTF-16). Without one: the declared encoding when given, else UTF-8 if the
    whole file is valid UTF-8, else Windows-1252 (latin-1 if it uses bytes Windows-1252 leaves
    undefined). A file mixing UTF-8 accents and other bytes is refused rather than half garbled.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
    # UTF-32 is not read (its byte-order mark begins like UTF-16's: every character would be misread).
    utf32 = head in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE) or (
        declared and declared.strip().lower().replace("_", "-").startswith(("utf-32", "utf32", "ucs-4", "ucs4")))
    if utf32:
        raise ImportFileError("Fichier encodé en UTF-32, que l'import ne lit pas : enregistrez-le en UTF-8 "
                              "(ou UTF-16), puis importez-le à nouveau.")
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    elif declared:
        try:
            encoding = codecs.lookup(declared).name
            bytes(4).decode(encoding)  # rot13, base64, zlib… are codecs, not text encodings
        except (LookupError, UnicodeError):
            raise ImportFileError(f"Encodage inconnu : « {declared} » (par exemple utf-8, cp1252, utf-16).") from None
        encoding = {"utf_8": "utf-8", "iso8859-1": "latin-1"}.get(encoding, encoding)
        if encoding == "utf-16":  # no BOM: the order of bytes shows in the first characters
            encoding = _utf16_without_bom(head) or "utf-16-le"
    else:
        encoding = _utf16_without_bom(head) or "utf-8"

    try:
        failure = _validate(path, encoding)
    except UnicodeError as error:  # a codec that refuses the file as a whole (UTF-32 without BOM…)
        raise ImportFileError(
            f"Le fichier ne peut pas être lu avec l'encodage « {declared or encoding} » ({error}). "
            "Enregistrez-le en UTF-8 puis relancez l'import."
        ) from None
    if failure is None:
        return encoding
    offset, line, accents = failure
    with open(path, "rb") as handle:
        handle.seek(offset)
        bad = handle.read(1)
    label = ENCODING_LABELS.get(encoding, encoding)
    where = _position_message(offset, line)
    byte = f"0x{bad.hex().upper()}" if bad else "fin de fichier"
    if encoding != "utf-8" or declared:
        raise ImportFileError(
            f"Le fichier n'est pas un fichier {label} valide : octet {byte} invalide ({where}). "
            "Enregistrez-le en UTF-8 (ou indiquez son véritable encodage) puis relancez l'import.",
            line=line, offset=offset,
        )
    if accents or _file_has(path, _UTF8_ACCENT, offset):
        raise ImportFileError(
            "Encodage incohérent : le fichier contient des caractères accentués en UTF-8 mais aussi des "
            f"octets invalides en UTF-8 (octet {byte}, {where}). Il a sans doute été modifié avec des "
            "logiciels différents ; enregistrez-le entièrement en UTF-8 puis relancez l'import.",
            line=line, offset=offset,
        )
    return "latin-1" if _file_has(path, _CP1252_UNDEFINED) else "cp1252"


# --- CSV ------------------------------------------------------------------------------------------


_EXCEL_SEPARATOR_LINE = re.compile(r"sep=([,;\t|])", re.IGNORECASE)


def guess_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])
    if counts[best]:
        return best
    if "|" in header_line:
        return "|"
    return ","


def _csv_error_row(message: str) -> str:
    if "field larger than field limit" in message:
        return f"valeur de plus de {CSV_FIELD_LIMIT // (1024 * 1024)} Mo"
    return f"ligne CSV mal formée ({message})"


class SourceFile:
    """A source file opened for reading; `records()` streams (row number, record) pairs."""

    def __init__(self, info: FileInfo, *, normalise_keys: bool = True):
        self.info = info
        self.normalise_keys = normalise_keys

    # Column names of the file (CSV header, or the keys of the first JSON object).
    @property
    def columns(self) -> list[str]:
        return list(self.info.header or [])

    def records(self) -> Iterator[tuple[int, dict | BadRow]]:
        if self.info.format == "csv":
            return self._csv_records()
        return self._json_records()

    # -- CSV --
    def _open_text(self):
        return open(self.info.path, encoding=self.info.encoding, newline="", errors="strict")

    def _csv_records(self) -> Iterator[tuple[int, dict | BadRow]]:
        if csv.field_size_limit() < CSV_FIELD_LIMIT:
            csv.field_size_limit(CSV_FIELD_LIMIT)
        with self._open_text() as handle:
            reader = csv.reader(handle, delimiter=self.info.delimiter, strict=True)
            try:
                for _line in range(self.info.lines_before_header + 1):
                    next(reader)
            except StopIteration:
                return
            header = self.info.header
            keys = [normalise_key(h) for h in header] if self.normalise_keys else header
            width = len(keys)
            row = self.info.lines_before_header + 1
            while True:
                row += 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    message = str(error)
                    if "unexpected end of data" in message:
                        raise ImportFileError(
                            f"Fichier tronqué : la ligne {row} s'arrête au milieu d'une valeur entre "
                            "guillemets (guillemet non fermé en fin de fichier).",
                            row=row, line=reader.line_num,
                        ) from None
                    yield row, BadRow(_csv_error_row(message))
                    continue
                if not (values and values[0].strip()) and not any(value.strip() for value in values):
                    continue  # blank line, or separators and blanks only (« ;;;; », left by spreadsheets)
                if len(values) == width:
                    yield row, dict(zip(keys, values))
                elif len(values) > width and not any(v.strip() for v in values[width:]):
                    yield row, dict(zip(keys, values))  # trailing empty values (extra separators)
                else:
                    hint = " (le séparateur de colonnes est-il le bon ?)" if len(values) == 1 else ""
                    yield row, BadRow(
                        f"la ligne compte {len(values)} valeur(s) alors que l'en-tête compte {width} colonnes{hint}"
                    )

    # -- JSON --
    def _json_records(self) -> Iterator[tuple[int, dict | BadRow]]:
        cache: dict[str, str] = {}
        rename = normalise_key if self.normalise_keys else _column_name
        with self._open_text() as handle:
            for index, item in iter_json_array(handle):
                if type(item) is not dict:
                    yield index, BadRow("l'élément du tableau JSON n'est pas un objet {…}")
                    continue
                out = {}
                for key, value in item.items():
                    new = cache.get(key)
                    if new is None:
                        if len(cache) > 10_000:  # keys that vary from record to record
                            cache.clear()
                        new = cache[key] = rename(key)
                    out[new] = value
                if len(out) < len(item):
                    yield index, _same_keys(item, rename)
                    continue
                yield index, out


def _same_keys(item: dict, rename) -> BadRow:
    """The rejection of a JSON object two of whose keys name the same column (« nom » and « Nom »)."""
    groups: dict[str, list[str]] = {}
    for key in item:
        groups.setdefault(rename(key), []).append(key)
    key, names = next((key, names) for key, names in groups.items() if len(names) > 1)
    shown = " et ".join(f"« {name} »" for name in names)
    return BadRow(f"les clés {shown} désignent la même colonne : gardez-en une seule", field=key)


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_CHARS = frozenset("0123456789.eE+-")


def _line_col(buffer: str, pos: int, line_base: int) -> tuple[int, int]:
    line = line_base + buffer.count("\n", 0, pos) + 1
    col = pos - buffer.rfind("\n", 0, pos)
    return line, col


def iter_json_array(handle, chunk_chars: int = CHUNK_BYTES) -> Iterator[tuple[int, object]]:
    """Stream the elements of a top-level JSON array: `json.JSONDecoder.raw_decode` on a sliding buffer.

    Yields (index + 1, element). Raises ImportFileError for anything but a well-formed array, with
    "Fichier tronqué" when the file ends before the array is closed.
    """
    raw_decode = json.JSONDecoder().raw_decode
    ws = _WS.match
    buffer = handle.read(chunk_chars)
    eof = not buffer
    pos = 0
    line_base = 0
    index = 0

    def more() -> bool:
        nonlocal buffer, pos, eof, line_base
        if eof:
            return False
        chunk = handle.read(max(chunk_chars, len(buffer) - pos))
        if not chunk:
            eof = True
            return False
        line_base += buffer.count("\n", 0, pos)
        buffer = buffer[pos:] + chunk
        pos = 0
        return True

    def skip_ws() -> bool:
        """Move past blanks; False at end of file."""
        nonlocal pos
        while True:
            pos = ws(buffer, pos).end()
            if pos < len(buffer):
                return True
            if not more():
                return False

    def truncated(what: str):
        line, col = _line_col(buffer, pos, line_base)
        return ImportFileError(
            f"Fichier tronqué : {what} (ligne {line}, colonne {col}). "
            "Le fichier JSON ne se termine pas correctement.",
            line=line, row=index + 1,
        )

    def syntax(message: str, at: int, what: str = "JSON invalide"):
        line, col = _line_col(buffer, at, line_base)
        return ImportFileError(
            f"{what} ligne {line}, colonne {col} (enregistrement n° {index + 1}) : {message}.",
            line=line, row=index + 1,
        )

    if not skip_ws():
        raise ImportFileError("Le fichier est vide.")
    if buffer.startswith("\ufeff", pos):
        pos += 1
        skip_ws()
    if buffer[pos] != "[":
        raise ImportFileError(
            "Le fichier JSON doit contenir un tableau d'objets ([{…}, {…}]) ; "
            f"il commence par « {buffer[pos:pos + 20]} »."
        )
    pos += 1
    expect_value = False  # after a comma, a value is mandatory
    first = True
    while True:
        if not skip_ws():
            raise truncated(f"le fichier s'arrête après l'enregistrement n° {index}, avant la fin du tableau")
        char = buffer[pos]
        if char == "]" and not expect_value:
            pos += 1
            if skip_ws():
                raise syntax("contenu inattendu après la fin du tableau", pos)
            return
        if not first and not expect_value:
            if char != ",":
                raise syntax("virgule « , » attendue entre deux enregistrements", pos)
            pos += 1
            expect_value = True
            continue
        # Decode one element; read more text while it may simply be cut by the buffer's end.
        while True:
            try:
                item, end = raw_decode(buffer, pos)
            except json.JSONDecodeError as error:
                unterminated = error.msg.startswith("Unterminated string")
                if not eof and (unterminated or error.pos >= len(buffer) - 12):
                    # Maybe only cut by the end of the buffer: read more and decode again.
                    if len(buffer) - pos >= MAX_RECORD_CHARS:
                        raise syntax("enregistrement trop volumineux (plus de 64 millions de caractères)", pos) from None
                    more()
                    continue
                if eof and (unterminated or error.pos >= len(buffer.rstrip())):
                    raise truncated(f"le fichier s'arrête au milieu de l'enregistrement n° {index + 1}") from None
                raise syntax(_json_reason(error.msg), error.pos) from None
            except ValueError as error:  # after JSONDecodeError, its subclass: an integer of 4,300+ digits…
                reason = "nombre trop long (plus de 4 300 chiffres)" if "digits" in str(error) else "valeur illisible"
                raise syntax(reason, pos, "JSON illisible") from None
            except RecursionError:  # valid JSON, but nested deeper than Python's parser goes (~1,000 levels)
                raise syntax("enregistrement trop imbriqué (des centaines de tableaux [ ] ou d'objets { } les uns "
                             "dans les autres) ; aucun enregistrement du standard n'en a besoin", pos,
                             "JSON illisible") from None
            if not eof and type(item) in (int, float) and (end >= len(buffer) - 1 or buffer[end] in _NUMBER_CHARS):
                more()  # a number maybe cut by the buffer's end: decode it again with what follows
                continue
            break
        index += 1
        pos = end
        first = False
        expect_value = False
        yield index, item


def _json_reason(msg: str) -> str:
    translations = {
        "Expecting value": "valeur attendue",
        "Expecting ',' delimiter": "virgule « , » attendue",
        "Expecting ':' delimiter": "deux-points « : » attendus",
        "Expecting property name enclosed in double quotes": "nom de propriété entre guillemets attendu",
        "Invalid control character at": "caractère de contrôle interdit dans une chaîne",
        "Invalid \\escape": "séquence d'échappement « \\ » invalide",
        "Extra data": "contenu inattendu",
    }
    for english, french in translations.items():
        if msg.startswith(english):
            return french
    return msg


# --- Opening ---------------------------------------------------------------------------------------


def _first_significant_char(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        while chunk := handle.read(4096):
            stripped = chunk.lstrip(" \t\r\n\ufeff")
            if stripped:
                return stripped[0]
    return ""


def open_source(path, *, encoding: str | None = None, format: str | None = None, normalise_keys: bool = True) -> SourceFile:
    """Look at the file (size, encoding over the whole file, format, separator, header) and open it.

    `format` is "csv" or "json"; guessed from the extension, else from the first character.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImportFileError(f"Fichier introuvable ou illisible : {path} ({error.strerror}).") from None
    if path.is_dir():
        raise ImportFileError(f"{path} est un dossier, pas un fichier.")
    if size == 0:
        raise ImportFileError("Le fichier est vide.")
    with open(path, "rb") as handle:
        _refuse_binary(handle.read(8))
    encoding = detect_encoding(path, encoding)
    first = _first_significant_char(path, encoding)
    if not first:
        raise ImportFileError("Le fichier est vide (il ne contient que des espaces ou des retours à la ligne).")
    if format is None:
        suffix = path.suffix.lower()
        if suffix in (".json", ".geojson"):
            format = "json"
        elif suffix in (".csv", ".tsv"):
            format = "csv"
        else:
            format = "json" if first in "[{" else "csv"
    info = FileInfo(path=path, format=format, encoding=encoding, size=size)
    if encoding in ("cp1252", "latin-1"):
        info.warnings.append(f"Encodage détecté : {info.encoding_label} (le fichier n'est pas en UTF-8).")
    if format == "json":
        if first not in "[{":
            raise ImportFileError(
                "Le fichier n'est pas un JSON valide : il devrait commencer par « [ » "
                f"(tableau d'objets) et commence par « {first} »."
            )
        return SourceFile(info, normalise_keys=normalise_keys)
    if format != "csv":
        raise ImportFileError(f"Format inconnu : « {format} » (attendu : csv ou json).")

    with open(path, encoding=encoding, newline="") as handle:
        header_line = handle.readline()
    excel_separator = _EXCEL_SEPARATOR_LINE.fullmatch(header_line.lstrip("\ufeff").rstrip("\r\n"))
    if excel_separator:  # « sep=; »: Excel's way of naming the separator; the header is the next line
        delimiter = excel_separator.group(1)
        info.lines_before_header = 1
    else:
        delimiter = guess_delimiter(header_line)
    info.delimiter = delimiter
    with open(path, encoding=encoding, newline="") as handle:
        try:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            for _line in range(info.lines_before_header):
                next(reader)
            header = next(reader)
        except (StopIteration, csv.Error):
            header = []
    header = [_column_name(h.replace("\ufeff", "").strip()) for h in header]
    while header and not header[-1]:
        header.pop()  # trailing separators
    header_row = info.lines_before_header + 1
    if not header or not any(header):
        raise ImportFileError(
            f"Le fichier CSV n'a pas de ligne d'en-tête (noms des colonnes) en ligne {header_row}.", line=header_row
        )
    empty = [str(i + 1) for i, name in enumerate(header) if not name]
    if empty:
        raise ImportFileError(
            f"En-tête ligne {header_row} : la ou les colonnes n° {', '.join(empty)} n'ont pas de nom.",
            line=header_row, row=header_row,
        )
    keys = [normalise_key(h) for h in header] if normalise_keys else header
    seen: dict[str, str] = {}
    for name, key in zip(header, keys):
        if key in seen:
            raise ImportFileError(
                f"En-tête ligne {header_row} : la colonne « {name} » apparaît deux fois.", line=header_row, row=header_row
            )
        seen[key] = name
    info.header = header
    return SourceFile(info, normalise_keys=normalise_keys)


def first_record_keys(source: SourceFile) -> list[str]:
    """Keys of the first record (CSV: the header) as the engine will see them."""
    if source.info.format == "csv":
        header = source.info.header or []
        return [normalise_key(h) for h in header] if source.normalise_keys else list(header)
    for _row, record in source.records():
        if isinstance(record, dict):
            return list(record)
        break
    return []


__all__ = [
    "BadRow",
    "FileInfo",
    "ImportFileError",
    "SourceFile",
    "detect_encoding",
    "guess_delimiter",
    "iter_json_array",
    "normalise_key",
    "open_source",
]
