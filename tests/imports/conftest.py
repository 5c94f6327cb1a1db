"""Helpers of the import tests: valid rows of the standard v1, files written from them, communes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mednum.standard import schema

FIELDS = list(schema.field_names())
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD = FIXTURES / "bad"
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "mednum" / "lieux" / "data" / "demo"
MAPPINGS = ROOT / "mednum" / "imports" / "mappings"


def row(n: int = 1, **overrides) -> dict:
    """A valid row of the standard v1.0.2 (Reims), id `lieu-<n>`."""
    data = dict.fromkeys(FIELDS, "")
    data.update(
        id=f"lieu-{n}",
        pivot="43493312300029",
        nom=f"Médiathèque numéro {n}",
        commune="Reims",
        code_postal="51100",
        code_insee="51454",
        adresse=f"{n} rue de Vesle",
        latitude="49.2535",
        longitude="4.0276",
        telephone="+33326000000",
        courriels=f"contact{n}@exemple.fr",
        horaires="Mo-Fr 09:00-12:00,14:00-18:30",
        source="Réseau test",
        date_maj="2024-04-02",
        services="Aide aux démarches administratives|Accès internet et matériel informatique",
        frais_a_charge="Gratuit",
        modalites_accompagnement="Accompagnement individuel",
    )
    data.update(overrides)
    return data


def csv_text(rows: list[dict], *, delimiter: str = ",", fields: list[str] | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields or FIELDS, delimiter=delimiter, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, rows: list[dict], *, delimiter: str = ",", encoding: str = "utf-8", fields=None) -> Path:
    path.write_bytes(csv_text(rows, delimiter=delimiter, fields=fields).encode(encoding))
    return path


def write_json(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def reims(db):
    """The commune of the test rows, with a position (for rows placed at their commune)."""
    from tests.factories import CommuneFactory, DepartementFactory, RegionFactory

    marne = DepartementFactory(code="51", nom="Marne", region=RegionFactory(code="44", nom="Grand Est"))
    return CommuneFactory(code="51454", nom="Reims", codes_postaux=["51100"], latitude=49.2628, longitude=4.0347,
                          departement=marne)


def fail_create_at(monkeypatch, call: int, error: BaseException) -> list[int]:
    """Make the import's `_create` raise `error` on its `call`-th call (1 = first); returns the list
    of the batch sizes it was called with."""
    from mednum.imports import engine

    real = engine._Importer._create
    calls: list[int] = []

    def failing(self, rows):
        calls.append(len(rows))
        if len(calls) == call:
            raise error
        return real(self, rows)

    monkeypatch.setattr(engine._Importer, "_create", failing)
    return calls
