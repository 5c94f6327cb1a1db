"""Shared data of the standard's tests: the demo source files and an extract of the communes."""

import json
from pathlib import Path

import pytest

from mednum.standard.communes import CommuneIndex

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "mednum" / "lieux" / "data" / "demo"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAPPINGS = ROOT / "mednum" / "imports" / "mappings"


@pytest.fixture(scope="session")
def communes() -> CommuneIndex:
    """Communes of Gironde and of the postal codes of the Hinaura file, plus a few overseas ones."""
    return CommuneIndex.from_records(json.loads((FIXTURES / "communes-extrait.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def hinaura_rows() -> list[dict]:
    return json.loads((DEMO / "hinaura-v0.1.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def gironde_rows() -> list[dict]:
    return json.loads((DEMO / "gironde-raw.json").read_text(encoding="utf-8"))
