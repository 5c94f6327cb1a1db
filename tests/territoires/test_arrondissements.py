"""The municipal arrondissements of Paris, Lyon and Marseille (data/arrondissements.csv): the file, and
how a search text names one."""

import csv
import gzip
import math
from pathlib import Path

import pytest

from mednum.territoires import arrondissements

DATA = Path(arrondissements.__file__).parent / "data"


def km(a, b) -> float:
    (lat1, lon1), (lat2, lon2) = a, b
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6371 * math.hypot(x, math.radians(lat2 - lat1))


def test_file_has_every_arrondissement_with_its_postal_codes_and_a_point_in_its_city():
    with gzip.open(DATA / "communes.csv.gz", "rt", encoding="utf-8") as f:
        communes = {row["code"]: row for row in csv.DictReader(f)}
    tous = arrondissements.tous()
    counts = {code: sum(a.commune == code for a in tous) for code in ("75056", "69123", "13055")}
    assert counts == {"75056": 20, "69123": 9, "13055": 16}
    for a in tous:
        commune = communes[a.commune]
        assert a.codes_postaux and all(cp in commune["codes_postaux"].split() for cp in a.codes_postaux), a
        # Marseille spans 20 km; no arrondissement's point is farther than that from the town hall.
        assert km((a.latitude, a.longitude), (float(commune["latitude"]), float(commune["longitude"]))) < 16, a
    numbers = sorted((a.commune, a.numero) for a in tous)
    assert numbers == sorted({(a.commune, a.numero) for a in tous})  # each number once per city


@pytest.mark.parametrize("texte, code", [
    ("Paris 15", "75115"), ("paris 15e", "75115"), ("PARIS 15ème", "75115"), ("Paris 15 ème", "75115"),
    ("Paris 15eme arrondissement", "75115"), ("15e arrondissement de Paris", "75115"), ("Paris XVe", "75115"),
    ("Paris 1er", "75101"), ("Lyon 3e", "69383"), ("lyon 3eme arr", "69383"), ("Marseille 1er", "13201"),
    ("marseille 16", "13216"), ("75015", "75115"), ("Paris 75015", "75115"), ("75116", "75116"),
    ("75016", "75116"), ("13016", "13216"), ("69009", "69389"), ("Marseille 13013", "13213"),
    ("Paris 15e arrondissement (75015)", "75115"),
])
def test_text_naming_an_arrondissement(texte, code):
    found = arrondissements.depuis_texte(texte)
    assert found is not None and found.code == code, texte


@pytest.mark.parametrize("texte", [
    "Paris", "Lyon", "Sète", "Lyon 10", "Paris 21", "Marseille 17e", "75000", "34200", "Lyon 75015",
    "12 rue de Vaugirard 75015 Paris", "", "Saint-Denis 93",
])
def test_text_naming_no_arrondissement(texte):
    assert arrondissements.depuis_texte(texte) is None


def test_label_and_lookups():
    quinzieme = arrondissements.par_code("75115")
    assert quinzieme.libelle == "Paris 15e arrondissement (75015)"
    assert arrondissements.par_code_postal("75116").code == "75116"
    assert arrondissements.par_code("75056") is None and arrondissements.par_code_postal("34200") is None
