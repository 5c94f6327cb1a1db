"""`normalise()`: the search key shared by the loader (`Commune.nom_recherche`) and the commune search."""

import pytest

from mednum.territoires.text import normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saint-Étienne", "saint etienne"),
        ("L'Isle-sur-la-Sorgue", "l isle sur la sorgue"),
        ("L’Haÿ-les-Roses", "l hay les roses"),
        ("Œuilly", "oeuilly"),
        ("Lœuilly", "loeuilly"),
        ("Sæby", "saeby"),
        ("Sète", "sete"),
        ("  Saint   Étienne--du  Rouvray ", "saint etienne du rouvray"),
        ("Provence-Alpes-Côte d'Azur", "provence alpes cote d azur"),
        ("Paris 15e Arrondissement", "paris 15e arrondissement"),
        ("Ajaccio (2A)", "ajaccio 2a"),
        ("", ""),
        ("--", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_the_sql_table_of_accented_letters_agrees_with_normalise():
    """PostgreSQL's key (`CleTexte`) replaces each of these letters by its bare letter: the same as
    `normalise`, which SQLite runs itself."""
    from mednum.territoires.text import _ACCENTUEES, _NUES

    assert len(_ACCENTUEES) == len(_NUES)
    for lettre, nue in zip(_ACCENTUEES, _NUES, strict=True):
        assert normalise(lettre) == nue, lettre
