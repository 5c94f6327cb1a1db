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


NOMS_ECRITS = ["Médiathèque d'Agen", "ÉPN du Crêt", "Cœur de ville", "L'Isle-sur-la-Sorgue", "Æsthétique",
               "Çà et là : Noël à Saint-Ouën", "EPN n°3 — 2ᵉ étage", "1ʳᵉ Maison nº 4", "Maison France Services",
               "CCAS de Saint-Étienne", "Espace   numérique  (Port-Joinville)"]


def _like(motif: str, texte: str) -> bool:
    """SQLite's LIKE: `_` one character, `%` any run, ASCII letters without regard to case."""
    import re

    regex = "".join("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in motif)
    return re.fullmatch(regex, texte, re.S | re.IGNORECASE if texte.isascii() else re.S) is not None or (
        re.fullmatch(regex, texte.lower(), re.S) is not None)


@pytest.mark.parametrize("nom", NOMS_ECRITS)
def test_the_like_pattern_lets_through_every_name_whose_key_holds_the_words(nom):
    """`motif_like(cle)` is a first sift on the name as written: it must let through every name whose
    key holds `cle`, for every piece of that key (whole words, starts, middles, across words)."""
    from mednum.territoires.text import motif_like

    cle = normalise(nom)
    morceaux = {cle[i:j] for i in range(len(cle)) for j in range(i + 1, len(cle) + 1)}
    for morceau in morceaux:
        morceau = morceau.strip()
        if morceau:
            assert _like(motif_like(morceau), nom), (nom, morceau, motif_like(morceau))


def test_the_like_pattern_sifts():
    from mednum.territoires.text import motif_like

    # « ß » is two letters of the key: a whole « ss » is let through, one half is not (documented).
    assert _like(motif_like("strasse"), "Straße") and not _like(motif_like("stras"), "Straße")

    assert motif_like("mediatheque") == "%m_d__th_q__%"
    assert not _like(motif_like("mediatheque"), "Maison France Services")
    assert not _like(motif_like("47000"), "Médiathèque d'Agen")
