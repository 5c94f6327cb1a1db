"""The commune search functions (`mednum.territoires.search`), on a few real communes."""

import pytest

from mednum.territoires import search
from mednum.territoires.models import CodePostal, Commune
from tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db


def codes(query, limit=10):
    return search.find_commune_codes(query, limit)


# --- Names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "saint etienne",
        "Saint-Étienne",
        "SAINT-ÉTIENNE",
        "saint-etienne",
        "  Saint   Étienne  ",
        "st etienne",
        "St-Étienne",
        "ST ETIENNE",
    ],
)
def test_name_regardless_of_accents_case_hyphens_and_abbreviation(communes, query):
    assert codes(query)[0] == "42218"


def test_exact_name_then_prefix_ranked_by_population(communes):
    # Exact name first, then the names that start with it, most populated first.
    assert codes("saint etienne") == ["42218", "76575", "06120"]


def test_exact_name_comes_before_a_bigger_prefix_match(communes):
    assert codes("castanet") == ["12061", "31113", "34059"]


def test_name_prefix(communes):
    assert codes("castanet t") == ["31113"]
    assert codes("saint") == ["42218", "76575", "42279", "06120"]


def test_word_prefix_inside_a_name_comes_after_name_prefixes(communes):
    assert codes("etienne") == ["42218", "76575", "06120"]
    assert codes("sur la sorgue") == ["84054"]
    # "saint" starts Saint-Just-Saint-Rambert once: it is not listed twice.
    assert codes("saint", limit=50).count("42279") == 1


def test_apostrophe_and_upper_case(communes):
    assert codes("L ISLE SUR LA SORGUE") == ["84054"]
    assert codes("l'isle-sur-la-sorgue") == ["84054"]
    assert codes("L’Isle") == ["84054", "24243"]


def test_letters_typed_without_spaces_come_last(communes):
    # "lisle": Lisle starts with it; L'Isle-sur-la-Sorgue only once the spaces are removed.
    assert codes("lisle") == ["24243", "84054"]
    assert codes("saintetienne")[0] == "42218"


def test_st_is_saint_only_when_another_word_follows(communes):
    # While "st" is being typed alone, it may be the start of Stains.
    assert codes("st") == ["93072"]
    assert codes("st et") == ["42218", "76575", "06120"]
    assert codes("ste") == []


def test_name_with_a_postal_code_or_departement(communes):
    assert codes("Sète (34200)") == ["34301"]
    assert codes("sete 34") == ["34301"]
    assert codes("castanet 31") == ["31113"]
    assert codes("34 castanet") == ["34059"]
    assert codes("saint etienne 76") == ["76575"]
    assert codes("sete 75") == []


@pytest.mark.parametrize("query, expected", [
    ("carcasonne", ["11069"]),  # a letter missing
    ("carcassonnne", ["11069"]),  # a letter doubled
    ("carcassomne", ["11069"]),  # a letter wrong
    ("carcsasonne", ["11069"]),  # two letters swapped
    ("sette", ["34301"]),
    ("saint etiene", ["42218"]),  # one slip, then the beginning of longer names
    ("carcassone 11", ["11069"]),
    ("carcassone 34", []),
    ("carcasone", []),  # two letters missing: too far
])
def test_a_name_one_typing_slip_away(communes, query, expected):
    assert codes(query)[: len(expected) or None] == expected


def test_typing_slips_only_when_nothing_else_matches_and_not_for_short_names(communes):
    # « sete » matches exactly: no neighbour one slip away (« sète », « seté »…) is added.
    assert codes("sete") == ["34301"]
    # Four letters are too few to guess from (« sate », « site » are one slip from many names).
    assert codes("sate") == []
    assert codes("zzzzzzzz") == []


# --- Codes ----------------------------------------------------------------------------------------


def test_postal_code_gives_every_commune_sharing_it(communes):
    # Same population for Barbaira and Marseillette: alphabetical order.
    assert codes("11800", limit=20) == ["11397", "11026", "11220", "11147"]


def test_postal_code_of_a_commune_with_several(communes):
    assert codes("42100") == ["42218"]
    assert codes("42 100") == ["42218"]  # as written on envelopes
    assert codes("20090") == ["2A004"]
    assert codes("34200") == ["34301"]


def test_partial_postal_code_then_insee_prefix(communes):
    assert codes("118") == ["11397", "11026", "11220", "11147"]
    # 110…: Carcassonne by its postal code 11000, then Barbaira by its INSEE code 11026.
    assert codes("110") == ["11069", "11026"]
    assert codes("42") == ["42218", "42279"]


@pytest.mark.parametrize("query", ["34301", " 34301 "])
def test_insee_code(communes, query):
    assert codes(query) == ["34301"]


@pytest.mark.parametrize("query", ["2A004", "2a004", "2A", "2a0"])
def test_corsican_insee_code(communes, query):
    assert codes(query) == ["2A004"]


def test_postal_code_before_an_equal_insee_code(communes):
    CommuneFactory(code="42000", nom="Commune fictive", codes_postaux=["42999"], population=10)
    assert codes("42000") == ["42218", "42000"]


# --- Limits and bad input -------------------------------------------------------------------------


def test_limit(communes):
    assert len(codes("saint", limit=2)) == 2
    assert codes("saint", limit=2) == ["42218", "76575"]
    assert codes("saint", limit=0) == []
    assert len(codes("a", limit=50)) == 0


@pytest.mark.parametrize(
    "query",
    ["", None, "   ", "a", "é", "-", "'", "--", "'' ''", "\x00", "\x00\x00s", "\ufffd", "\ufffd\ufffd", "zzzz", "1"],
)
def test_empty_short_or_junk_queries_give_nothing(communes, query):
    assert codes(query) == []


def test_nul_bytes_are_dropped(communes):
    assert codes("s\x00ète") == ["34301"]


def test_too_long_query_is_refused_with_a_french_message(communes):
    with pytest.raises(search.RechercheInvalide, match="trop longue"):
        codes("a" * 10_000)
    # Up to the maximum, no error.
    assert codes("sète" + " " * 50) == ["34301"]


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 10), ("", 10), ("1", 1), ("50", 50), (" 7 ", 7)]
)
def test_parse_limit(raw, expected):
    assert search.parse_limit(raw) == expected


@pytest.mark.parametrize("raw", ["0", "51", "-1", "abc", "1.5", "1e3", "\x00", "9" * 400])
def test_parse_limit_refuses_with_a_french_message(raw):
    with pytest.raises(search.RechercheInvalide, match="entre 1 et 50"):
        search.parse_limit(raw)


# --- Results and index ----------------------------------------------------------------------------


def test_search_communes_returns_communes_with_their_departement(communes, django_assert_num_queries):
    search.search_communes("castanet")  # builds the index
    with django_assert_num_queries(1):
        results = search.search_communes("castanet")
        assert [c.code for c in results] == ["12061", "31113", "34059"]
        assert results[1].departement.nom == "Haute-Garonne"
        assert results[1].epci is None


def test_index_follows_saved_communes(communes):
    assert codes("villeneuve") == []
    CommuneFactory(code="34337", nom="Villeneuve-lès-Maguelone", codes_postaux=["34750"], population=10000)
    assert codes("villeneuve les") == ["34337"]
    Commune.objects.get(code="34337").delete()
    assert codes("villeneuve") == []


def test_index_follows_bulk_changes_made_by_another_process(communes, settings):
    assert codes("sete") == ["34301"]
    # Bulk operations send no signal, as when another process loads the territories.
    Commune.objects.filter(code="34301").update(population=1)
    CodePostal.objects.bulk_create([CodePostal(code="34999", commune_id="34301")])
    settings.MEDNUM_COMMUNES_INDEX_TTL = 3600
    assert codes("34999") == []  # not checked yet
    settings.MEDNUM_COMMUNES_INDEX_TTL = 0
    assert codes("34999") == ["34301"]


def test_a_commune_deleted_since_the_index_was_built_is_left_out(communes, settings):
    settings.MEDNUM_COMMUNES_INDEX_TTL = 3600
    assert codes("sete") == ["34301"]
    # Deleted without signals, as by another process.
    CodePostal.objects.filter(commune_id="34301")._raw_delete(CodePostal.objects.db)
    Commune.objects.filter(code="34301")._raw_delete(Commune.objects.db)
    assert search.search_communes("sete") == []


def test_empty_database():
    assert codes("sete") == []
    assert search.search_communes("34200") == []


def test_index_without_database():
    index = search.CommuneIndex(
        [("01001", "l abergement clemenciat", 800), ("01002", "l abergement de varey", 250)],
        [("01400", "01001"), ("01640", "01002")],
    )
    assert len(index) == 2
    assert index.lookup("abergement", 10) == ["01001", "01002"]
    assert index.lookup("01640", 10) == ["01002"]
    assert index.lookup("labergement de", 10) == ["01002"]


# --- Départements and régions named ---------------------------------------------------------------


@pytest.mark.parametrize("texte, codes_attendus", [
    ("Hérault", ["34"]), ("HERAULT", ["34"]), ("département de l'Hérault", ["34"]), ("le département de l’Hérault", ["34"]),
    ("34", ["34"]), ("2a", ["2A"]), ("Occitanie", ["76"]), ("région Occitanie", ["76"]),
    ("département Occitanie", []), ("région Hérault", []), ("Sète", []), ("Hér", []), ("", []), ("\x00", []),
])
def test_departements_and_regions_named(communes, texte, codes_attendus):
    assert [t.code for t in search.territoires_nommes(texte)] == codes_attendus
