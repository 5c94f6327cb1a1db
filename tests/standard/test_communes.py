"""In-memory commune lookup (mednum.standard.communes)."""

import pytest

from mednum.standard.communes import CommuneIndex, CommuneInfo, commune_key, parent_code


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Saint-Denis-de-Pile", "saint denis de pile"),
        ("ST DENIS DE PILE", "saint denis de pile"),
        ("Ste-Foy-la-Grande", "sainte foy la grande"),
        ("Le Bouscat", "bouscat"),
        ("BOUSCAT (LE)", "bouscat"),
        ("Pessac (33)", "pessac"),
        ("Bordeaux Cedex 9", "bordeaux"),
        ("Lyon 3e Arrondissement", "lyon"),
        ("L'Isle-sur-la-Sorgue", "isle sur la sorgue"),
        ("Villenave-d’Ornon", "villenave d ornon"),
    ],
)
def test_commune_key(name, key):
    assert commune_key(name) == key


def test_parent_code():
    assert parent_code("75115") == "75056"
    assert parent_code("69383") == "69123"
    assert parent_code("13208") == "13055"
    assert parent_code("33063") == "33063"


def test_resolve(communes):
    assert communes.resolve(code_insee="33063").nom == "Bordeaux"
    assert communes.resolve(code_postal="33000", nom="BORDEAUX").code == "33063"
    # Names written without hyphens, with "St", without apostrophe, or shortened.
    assert communes.resolve(code_postal="33910", nom="St Denis de Pile").code == "33393"
    assert communes.resolve(code_postal="26260", nom="Saint-Donat-sur-lHerbasse").code == "26301"
    assert communes.resolve(code_postal="74170", nom="SAINT GERVAIS").nom == "Saint-Gervais-les-Bains"
    assert communes.resolve(code_postal="38800", nom="Pont de Claix").nom == "Le Pont-de-Claix"
    # The only commune of a postal code, even with a name that does not match.
    assert communes.resolve(code_postal="33210", nom="Toulenne-Bourg").code == "33533"
    # The name alone, when unique.
    assert communes.resolve(nom="Canéjan").code == "33090"
    # Unknown.
    assert communes.resolve(code_postal="99999", nom="Nulle part") is None
    assert communes.resolve() is None


def test_homonyms_are_told_apart_by_department_or_position(communes):
    # Bassens: Gironde (33032) and Savoie (73031).
    assert communes.resolve(nom="Bassens") is None
    assert communes.resolve(nom="Bassens", code_postal="33530").code == "33032"
    assert communes.resolve(nom="Bassens", latitude=44.90, longitude=-0.52).code == "33032"
    assert communes.resolve(nom="Bassens", latitude=45.59, longitude=5.94).code == "73031"


def test_arrondissement_codes_give_the_commune():
    index = CommuneIndex([CommuneInfo("75056", "Paris", ("75001", "75015"), 48.85, 2.35)])
    assert index.resolve(code_insee="75115").code == "75056"
    assert index.get("75101").nom == "Paris"
    assert index.resolve(code_postal="75015", nom="Paris 15e").code == "75056"


@pytest.mark.django_db
def test_from_db():
    from tests.factories import CommuneFactory

    CommuneFactory(code="33063", nom="Bordeaux", codes_postaux=["33000", "33800"], latitude=44.84, longitude=-0.58)
    CommuneFactory(code="33039", nom="Bègles", codes_postaux=["33130"])
    CommuneFactory(code="33999", nom="Sans-Code-Postal", codes_postaux=[])
    index = CommuneIndex.from_db()
    assert len(index) == 3
    assert index.get("33999").codes_postaux == ()
    assert index.resolve(nom="sans code postal").code == "33999"
    bordeaux = index.resolve(code_postal="33800", nom="bordeaux")
    assert bordeaux == CommuneInfo("33063", "Bordeaux", ("33000", "33800"), 44.84, -0.58)
    assert index.resolve(nom="Begles").latitude is None
