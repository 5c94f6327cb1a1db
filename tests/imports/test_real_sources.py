"""The two real source files of mednum/lieux/data/demo/: every row imports, with the real communes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from mednum.lieux.models import Lieu, PositionPrecision, SourceRecord
from tests.imports.conftest import DEMO, MAPPINGS

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import_lieux", *args, "--no-progress", "--no-geocoding", stdout=out, stderr=io.StringIO())
    except SystemExit as exit:
        return exit.code, out.getvalue()
    return 0, out.getvalue()


def test_hinaura_and_gironde_import_whole():
    call_command("load_territoires", stdout=io.StringIO(), stderr=io.StringIO())

    status, out = run(str(DEMO / "hinaura-v0.1.json"), "--source", "hinaura", "--demo")
    assert status == 0, out
    assert "Lieux créés : 687" in out and "v0.1" in out
    status, out = run(str(DEMO / "gironde-raw.json"), "--source", "gironde", "--mapping",
                      str(MAPPINGS / "gironde.json"), "--demo")
    assert status == 0, out
    assert "Lieux créés : 347" in out

    assert SourceRecord.objects.filter(source="hinaura").count() == 687
    assert SourceRecord.objects.filter(source="gironde").count() == 347
    assert Lieu.objects.count() == 687 + 347 and Lieu.objects.filter(est_demo=True).count() == 1034
    # Almost every lieu is tied to its commune; every one has a position.
    assert Lieu.objects.filter(commune__isnull=False).count() >= 1000
    assert not Lieu.objects.filter(latitude__isnull=True).exists()
    assert not Lieu.objects.exclude(position_precision__in=[PositionPrecision.SOURCE, PositionPrecision.COMMUNE]).exists()

    bordeaux = Lieu.objects.get(nom="Abracodabra")
    assert bordeaux.code_postal == "33000" and bordeaux.commune_id == "33063"
    assert bordeaux.telephone == "+33557657539" and bordeaux.latitude == pytest.approx(44.8396, abs=1e-3)

    # Re-importing both writes nothing.
    status, out = run(str(DEMO / "hinaura-v0.1.json"), "--source", "hinaura", "--demo")
    assert status == 0 and "Lieux inchangés : 687" in out
    status, out = run(str(DEMO / "gironde-raw.json"), "--source", "gironde", "--mapping", "gironde", "--demo")
    assert status == 0 and "Lieux inchangés : 347" in out
