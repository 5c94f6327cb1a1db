"""Row normalisation rules (mednum.standard.normalise)."""

import datetime as dt

import pytest

from mednum.standard import schema
from mednum.standard.normalise import (
    FIELD_NAMES,
    PIVOT_UNKNOWN,
    FieldError,
    Normalised,
    Normaliser,
    shorten,
)

BASE = {
    "id": "lieu-1",
    "pivot": "21330063500017",
    "nom": "Médiathèque Mériadeck",
    "commune": "Bordeaux",
    "code_postal": "33000",
    "adresse": "85 cours du Maréchal Juin",
    "date_maj": "2024-03-01",
}


def run(normaliser=None, **fields) -> Normalised:
    return (normaliser or Normaliser()).normalise({**BASE, **fields})


def reasons(items: list[FieldError], field: str | None = None) -> list[str]:
    return [item.reason for item in items if field is None or item.field == field]


# ---------------------------------------------------------------- result shape


def test_result_has_the_32_fields_in_the_standard_order_as_strings():
    result = run(latitude=44.837, longitude=-0.5826)
    assert list(result.values) == list(FIELD_NAMES)
    assert len(result.values) == 32
    assert all(isinstance(value, str) for value in result.values.values())
    assert result.errors == []
    assert result.values["pivot"] == "21330063500017"
    assert result.values["latitude"] == "44.837"


def test_unknown_keys_are_ignored():
    result = run(colonne_inconnue="x", cle_ban="33063_1234")
    assert result.ok
    assert "colonne_inconnue" not in result.values


def test_field_error_value_is_truncated_to_200_characters():
    result = run(date_maj="x" * 500)
    (error,) = result.errors
    assert error.field == "date_maj"
    assert len(error.value) == 200


# ---------------------------------------------------------------- required fields


@pytest.mark.parametrize("field", ["id", "nom", "commune", "adresse", "date_maj"])
def test_required_field_missing_is_an_error(field):
    result = run(**{field: "  "})
    assert [e.field for e in result.errors] == [field]
    assert "obligatoire" in result.errors[0].reason


def test_id_is_stripped_and_limited_to_255_characters():
    assert run(id="  abc  ").values["id"] == "abc"
    result = run(id="x" * 256)
    assert reasons(result.errors, "id") == ["champ trop long : 256 caractères, 255 au maximum"]


def test_numeric_id_becomes_text():
    assert run(id=1234).values["id"] == "1234"
    assert run(id=12.0).values["id"] == "12"


# ---------------------------------------------------------------- pivot


@pytest.mark.parametrize("pivot", [PIVOT_UNKNOWN, "", None, "000 000 000 00000"])
def test_unknown_pivot_is_stored_empty_with_a_warning(pivot):
    result = run(pivot=pivot)
    assert result.ok
    assert result.values["pivot"] == ""
    assert reasons(result.warnings, "pivot")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("213 300 635 00017", "21330063500017"),  # SIRET with spaces
        ("213300635", "213300635"),  # SIREN
        ("w332004567", "W332004567"),  # RNA
        (21330063500017, "21330063500017"),
        (1234567800019.0, "01234567800019"),  # a number that lost its leading 0
    ],
)
def test_valid_pivots(given, expected):
    result = run(pivot=given)
    assert result.values["pivot"] == expected
    assert not reasons(result.warnings, "pivot")


def test_invalid_pivot_is_dropped_with_a_warning_not_rejected():
    result = run(pivot="1234")
    assert result.ok
    assert result.values["pivot"] == ""
    assert "pivot invalide" in reasons(result.warnings, "pivot")[0]


# ---------------------------------------------------------------- postal and INSEE codes


def test_four_digit_postal_code_gets_its_leading_zero():
    result = run(code_postal="7440", commune="Alboussière")
    assert result.values["code_postal"] == "07440"
    assert "zéro initial" in reasons(result.warnings, "code_postal")[0]
    assert run(code_postal=1000).values["code_postal"] == "01000"


def test_postal_code_from_the_address():
    result = run(code_postal="", adresse="8 rue de la Boétie - 33000 Bordeaux")
    assert result.ok
    assert result.values["code_postal"] == "33000"
    assert "tiré de l'adresse" in reasons(result.warnings, "code_postal")[0]


def test_postal_code_from_the_commune_index(communes):
    result = run(Normaliser(communes=communes), code_postal="", commune="Bègles", adresse="Rue Robert Schuman")
    assert result.ok
    assert result.values["code_postal"] == "33130"
    assert result.values["code_insee"] == "33039"
    assert "déduit de la commune" in reasons(result.warnings, "code_postal")[0]


def test_postal_code_of_a_commune_with_several_is_the_first_with_a_warning(communes):
    result = run(Normaliser(communes=communes), code_postal="", commune="Bordeaux", adresse="4 rue Bac Ninh")
    assert result.values["code_postal"] == "33000"
    assert "plusieurs possibles" in reasons(result.warnings, "code_postal")[0]


def test_missing_postal_code_is_an_error():
    result = run(code_postal="", adresse="Place Gambetta")
    assert reasons(result.errors, "code_postal") == [
        "code postal manquant (ni dans le champ, ni dans l'adresse, ni déduit de la commune)"
    ]


def test_invalid_postal_code_is_an_error_with_a_clear_message():
    result = run(code_postal="3300O")
    assert reasons(result.errors, "code_postal") == ["code postal invalide : 5 chiffres attendus"]
    assert result.errors[0].value == "3300O"


def test_insee_code_is_checked_and_resolved(communes):
    normaliser = Normaliser(communes=communes)
    assert run(normaliser, code_insee="2a004", code_postal="20000", commune="Ajaccio").values["code_insee"] == "2A004"
    # Missing: from postal code + name, tolerant to case, accents, hyphens and "St".
    result = run(normaliser, code_postal="33910", commune="ST DENIS DE PILE")
    assert result.values["code_insee"] == "33393"
    assert not reasons(result.warnings, "code_insee")
    # The only commune of its postal code, whatever the spelling.
    assert run(normaliser, code_postal="33210", commune="Toulenne (33)").values["code_insee"] == "33533"
    # Invalid code: warning, then resolved from the other fields.
    result = run(normaliser, code_insee="ABCDE")
    assert result.values["code_insee"] == "33063"
    assert "code INSEE invalide" in reasons(result.warnings, "code_insee")[0]


def test_unresolved_insee_code_is_left_empty_with_a_warning(communes):
    result = run(Normaliser(communes=communes), commune="Commune imaginaire", code_postal="33999")
    assert result.ok
    assert result.values["code_insee"] == ""
    assert reasons(result.warnings, "code_insee") == ["code INSEE introuvable pour cette commune et ce code postal"]
    # Without an index nothing is tried, nothing is said.
    assert not reasons(run(commune="Commune imaginaire").warnings, "code_insee")


# ---------------------------------------------------------------- telephone


@pytest.mark.parametrize(
    ("given", "code_postal", "expected"),
    [
        ("05 57 65 75 39", "33000", "+33557657539"),
        ("05.57.65.75.39", "33000", "+33557657539"),
        ("0557657539", "33000", "+33557657539"),
        ("+33557657539", "33000", "+33557657539"),
        ("+33 (0)5 57 65 75 39", "33000", "+33557657539"),
        ("0033 5 57 65 75 39", "33000", "+33557657539"),
        ("33557657539", "33000", "+33557657539"),
        (557657539, "33000", "+33557657539"),  # a spreadsheet dropped the 0
        ("0590 12 34 56", "97110", "+590590123456"),  # Guadeloupe
        ("0690 12 34 56", "97133", "+590690123456"),  # Saint-Barthélemy
        ("0594 29 10 00", "97300", "+594594291000"),  # Guyane
        ("0596 12 34 56", "97200", "+596596123456"),  # Martinique
        ("0262 90 12 34", "97400", "+262262901234"),  # La Réunion
        ("0692 12 34 56", "97400", "+262692123456"),
        ("0269 61 12 34", "97600", "+262269611234"),  # Mayotte: country code +262
        ("+269 269 61 12 34", "97600", "+269269611234"),  # kept: allowed by the standard
        ("05 08 41 12 34", "97500", "+508411234"),  # Saint-Pierre-et-Miquelon
        ("27 12 34", "98800", "+687271234"),  # Nouvelle-Calédonie
        ("72 12 34", "98600", "+681721234"),  # Wallis-et-Futuna
        ("40 12 34 56", "98714", "+68940123456"),  # Polynésie française
        ("01 23 45 67 89", "97400", "+33123456789"),  # a metropolitan number stays +33
    ],
)
def test_telephone_to_international_form(given, code_postal, expected):
    result = run(telephone=given, code_postal=code_postal, commune="X")
    assert result.values["telephone"] == expected
    assert not reasons(result.warnings, "telephone")


def test_several_phone_numbers_keep_the_first():
    result = run(telephone="05 57 87 02 57 / 05 56 08 98 55")
    assert result.values["telephone"] == "+33557870257"
    assert "plusieurs numéros" in reasons(result.warnings, "telephone")[0]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("054088085", "numéro de téléphone illisible : ignoré"),
        ("n/c", "numéro de téléphone illisible : ignoré"),
        ("3949", "numéro court (non accepté par le standard) : ignoré"),
        ("+44 20 7946 0958", "indicatif étranger (le standard n'accepte que la France et l'outre-mer) : ignoré"),
    ],
)
def test_unreadable_phone_is_dropped_with_a_warning(given, reason):
    result = run(telephone=given)
    assert result.ok
    assert result.values["telephone"] == ""
    assert reasons(result.warnings, "telephone") == [reason]


# ---------------------------------------------------------------- e-mails and web addresses


def test_courriels_are_split_lowercased_checked_and_deduplicated():
    result = run(courriels="Accueil@Mairie.FR; contact@x.fr , bad@ autre@y.org|accueil@mairie.fr")
    assert result.values["courriels"] == "accueil@mairie.fr|contact@x.fr|autre@y.org"
    assert reasons(result.warnings, "courriels") == ["adresse électronique invalide : ignorée"]
    assert result.warnings[-1].value == "bad@"


@pytest.mark.parametrize("bad", ["@", "contact.pessac@@mldesgraves.fr", "prenom.nom@mairie-sans-extension"])
def test_invalid_courriel_is_dropped(bad):
    result = run(courriels=bad)
    assert result.ok
    assert result.values["courriels"] == ""
    assert reasons(result.warnings, "courriels")


def test_site_web_gets_a_scheme_and_is_checked():
    result = run(site_web="abracodabra.fr|http://www.msa33.fr;www.adav33.fr https://x.fr/a?b=1,http://y.fr")
    assert result.values["site_web"] == (
        "https://abracodabra.fr|http://www.msa33.fr|https://www.adav33.fr|https://x.fr/a?b=1|http://y.fr"
    )
    assert result.warnings == []
    # A comma inside a URL is not a separator; a mistyped scheme is repaired.
    assert run(site_web="https://x.fr/a,b").values["site_web"] == "https://x.fr/a,b"
    assert run(site_web="http//y.fr").values["site_web"] == "http://y.fr"
    assert run(site_web="http://90.84.243.68/opac/").values["site_web"] == "http://90.84.243.68/opac/"


@pytest.mark.parametrize("bad", ["@", "assofamilialetalence@free.fr", "ftp://x.fr"])
def test_invalid_site_web_is_dropped_with_a_warning(bad):
    result = run(site_web=bad)
    assert result.ok
    assert result.values["site_web"] == ""
    assert reasons(result.warnings, "site_web") == ["adresse web invalide : ignorée"]


@pytest.mark.parametrize("bad", ["https://ex\uff0fample.fr", "https://exa\u2101mple.fr", "exemple\uff0ffr"])
def test_web_address_whose_host_python_cannot_read_is_dropped(bad):
    """Characters whose NFKC form is « / » or « @ » pass the pattern but make `urlsplit` fail (the lieu's
    page used to answer 500): such an address is dropped with a warning, as any invalid one."""
    result = run(site_web=bad, prise_rdv=bad)
    assert result.ok
    assert (result.values["site_web"], result.values["prise_rdv"]) == ("", "")
    assert reasons(result.warnings, "site_web") == ["adresse web invalide : ignorée"]
    # Non-ASCII hosts that read well are kept.
    assert run(site_web="https://médiathèque.example.fr/").values["site_web"] == "https://médiathèque.example.fr/"


def test_free_text_in_site_web_gives_one_warning():
    result = run(site_web="Facebook : Espace Social Alouette Animation")
    assert result.values["site_web"] == ""
    assert reasons(result.warnings, "site_web") == ["texte qui n'est pas une adresse web : ignoré"]


def test_single_url_fields():
    result = run(
        fiche_acces_libre="acceslibre.beta.gouv.fr/app/33-bordeaux/a/bibliotheque/erp/x/", prise_rdv="pas d'url"
    )
    assert result.values["fiche_acces_libre"].startswith("https://acceslibre.beta.gouv.fr/")
    assert result.values["prise_rdv"] == ""
    assert reasons(result.warnings, "prise_rdv")


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "given",
    [
        "2021-12-07",
        "07/12/2021",
        "7/12/2021",
        "07-12-2021",
        "07.12.2021",
        "2021-12-07T10:30:00+01:00",
        "2021-12-07 10:30:00",
        dt.date(2021, 12, 7),
        dt.datetime(2021, 12, 7, 10, 30),
        44537,  # spreadsheet serial number
    ],
)
def test_dates_are_read(given):
    result = run(date_maj=given)
    assert result.ok, result.errors
    assert result.values["date_maj"] == "2021-12-07"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("31/02/2021", "date impossible"),
        ("2021-13-01", "date impossible"),
        ("hier", "date illisible : AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
        ("1899-12-30", "date improbable (antérieure à 1990)"),
    ],
)
def test_bad_dates_are_errors(given, reason):
    assert reasons(run(date_maj=given).errors, "date_maj") == [reason]


def test_future_date_is_an_error():
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    (reason,) = reasons(run(date_maj=tomorrow.isoformat()).errors, "date_maj")
    assert reason.startswith("date dans le futur")


# ---------------------------------------------------------------- coordinates


def test_coordinates_with_decimal_comma_and_six_decimals():
    result = run(latitude="44,8395748817", longitude=" -0,580238007 ")
    assert (result.values["latitude"], result.values["longitude"]) == ("44.839575", "-0.580238")
    assert not result.needs_geocoding
    assert run(latitude=45.0, longitude=1).values["latitude"] == "45"


def test_swapped_coordinates_are_swapped_back():
    result = run(latitude=-0.58023800736287, longitude=44.839574881764)
    assert (result.values["latitude"], result.values["longitude"]) == ("44.839575", "-0.580238")
    assert reasons(result.warnings, "latitude") == ["latitude et longitude inversées : corrigées"]
    assert not result.needs_geocoding


@pytest.mark.parametrize(
    ("latitude", "longitude", "reason"),
    [
        (0, 0, "coordonnées nulles (0, 0) : ignorées, lieu à géocoder"),
        (40.71, -74.0, "coordonnées hors de France : ignorées, lieu à géocoder"),
        ("44.84", "", "coordonnées incomplètes ou illisibles : ignorées, lieu à géocoder"),
        ("nord", "ouest", "coordonnées illisibles : ignorées, lieu à géocoder"),
    ],
)
def test_unusable_coordinates_mean_geocoding(latitude, longitude, reason):
    result = run(latitude=latitude, longitude=longitude)
    assert result.ok
    assert result.values["latitude"] == result.values["longitude"] == ""
    assert result.needs_geocoding
    assert reason in reasons(result.warnings)


def test_no_coordinates_means_geocoding_without_warning():
    result = run()
    assert result.needs_geocoding
    assert result.warnings == []


@pytest.mark.parametrize(
    ("code_postal", "latitude", "longitude"),
    [
        ("97400", -20.8789, 55.4481),  # La Réunion
        ("97110", 16.2411, -61.5331),  # Guadeloupe
        ("97200", 14.6161, -61.0588),  # Martinique
        ("97300", 4.9372, -52.326),  # Guyane
        ("97600", -12.7806, 45.2278),  # Mayotte
        ("97500", 46.7811, -56.1764),  # Saint-Pierre-et-Miquelon
        ("98800", -22.2758, 166.458),  # Nouvelle-Calédonie
        ("98714", -17.5516, -149.5585),  # Polynésie française
        ("98600", -13.2825, -176.1736),  # Wallis-et-Futuna
        ("20000", 41.9192, 8.7386),  # Corse
    ],
)
def test_overseas_and_corsica_coordinates_are_accepted(code_postal, latitude, longitude):
    result = run(code_postal=code_postal, commune="X", latitude=latitude, longitude=longitude)
    assert not result.needs_geocoding, result.warnings
    assert result.warnings == []


def test_swapped_overseas_coordinates():
    result = run(code_postal="97400", commune="Saint-Denis", latitude=55.4481, longitude=-20.8789)
    assert (result.values["latitude"], result.values["longitude"]) == ("-20.8789", "55.4481")
    assert "inversées" in reasons(result.warnings, "latitude")[0]


def test_coordinates_in_another_territory_than_the_postal_code():
    result = run(code_postal="97400", commune="Saint-Denis", latitude=48.85, longitude=2.35)
    assert result.needs_geocoding
    assert "incohérentes avec le code postal 97400" in reasons(result.warnings, "latitude")[0]


def test_coordinates_far_from_the_commune_are_kept_with_a_warning(communes):
    result = run(Normaliser(communes=communes), latitude=45.7578, longitude=4.832)  # Lyon, not Bordeaux
    assert result.ok
    assert not result.needs_geocoding
    assert result.values["latitude"] == "45.7578"
    (reason,) = reasons(result.warnings, "latitude")
    assert reason.startswith("position à ") and "de la commune Bordeaux : à vérifier" in reason


# ---------------------------------------------------------------- enumerations


def test_enumerated_values_are_matched_tolerantly_deduplicated_and_ordered():
    result = run(
        services=" maitrise des outils numeriques du quotidien | AIDE AUX DÉMARCHES ADMINISTRATIVES|"
        "Aide aux démarches administratives",
        publics_specifiquement_adresses="Seniors|Jeunes",
        frais_a_charge="gratuit",
        modalites_acces="Se presenter;Telephoner",
        itinerance="fixe",
    )
    assert result.ok, result.errors
    assert result.values["services"] == "Aide aux démarches administratives|Maîtrise des outils numériques du quotidien"
    assert result.values["publics_specifiquement_adresses"] == "Jeunes|Seniors"
    assert result.values["frais_a_charge"] == "Gratuit"
    assert result.values["modalites_acces"] == "Se présenter|Téléphoner"
    assert result.values["itinerance"] == "Fixe"


def test_spelling_variant_of_the_standard_is_accepted_and_written_correctly():
    result = run(formations_labels="Étapes numériques(La Poste)|Fabriques de Territoire")
    assert result.ok
    assert result.values["formations_labels"] == "Étapes numériques (La Poste)|Fabriques de Territoire"


def test_every_allowed_value_round_trips():
    for field, allowed in schema.enumerations().items():
        result = run(**{field: schema.join(reversed(allowed))})
        assert result.ok, result.errors
        assert result.values[field] == schema.join(allowed)


def test_unknown_enumerated_value_is_an_error_naming_it():
    result = run(services="Aide aux démarches administratives|Cours de cuisine")
    (error,) = result.errors
    assert error.field == "services"
    assert error.value == "Cours de cuisine"
    assert error.reason.startswith("valeur inconnue « Cours de cuisine » ; valeurs possibles : ")
    assert "Aide aux démarches administratives" in error.reason
    assert "Cours de cuisine" in str(error)


def test_unknown_enumerated_value_is_dropped_when_not_strict():
    result = run(Normaliser(strict_enums=False), services="Aide aux démarches administratives|Cours de cuisine")
    assert result.ok
    assert result.values["services"] == "Aide aux démarches administratives"
    assert reasons(result.warnings, "services") == ["valeur inconnue « Cours de cuisine » ignorée"]


def test_typologie_codes_and_labels():
    result = run(typologie="asso|Bibliothèque / Médiathèque;CCAS|Inconnue")
    assert result.values["typologie"] == "ASSO|BIB|CCAS"
    assert reasons(result.warnings, "typologie") == ["typologie inconnue : ignorée"]
    label = "Centre de soins, d'accompagnement et de prévention en addictologie"
    assert run(typologie=f"{label}|MJC").values["typologie"] == "CSAPA|MJC"
    assert run(typologie="ASSO, CCAS").values["typologie"] == "ASSO|CCAS"


def test_autres_formations_labels_is_a_free_list():
    result = run(autres_formations_labels="APTIC | Pass numérique|APTIC")
    assert result.values["autres_formations_labels"] == "APTIC|Pass numérique"


# ---------------------------------------------------------------- texts


def test_long_resume_is_cut_at_a_word_and_moved_to_detail():
    text = "Un lieu ouvert à tous " * 20
    result = run(presentation_resume=text)
    resume = result.values["presentation_resume"]
    assert len(resume) <= 280 and resume.endswith("…")
    assert not resume[:-1].endswith(" ")
    assert result.values["presentation_detail"] == text.strip()
    assert "coupé à 280" in reasons(result.warnings, "presentation_resume")[0]


def test_long_resume_keeps_an_existing_detail():
    result = run(presentation_resume="mot " * 100, presentation_detail="Détail.")
    assert result.values["presentation_detail"] == "Détail."
    assert len(result.values["presentation_resume"]) <= 280


def test_shorten():
    assert shorten("court", 280) == "court"
    assert shorten("un deux trois quatre", 12) == "un deux…"


def test_field_too_long_is_an_error():
    result = run(complement_adresse="x" * 10_001)
    assert reasons(result.errors, "complement_adresse") == ["champ trop long : 10001 caractères, 10000 au maximum"]
    assert run(presentation_detail="x" * 15_000).ok
    assert reasons(run(presentation_detail="x" * 20_001).errors) == [
        "champ trop long : 20001 caractères, 20000 au maximum"
    ]


def test_text_over_the_database_column_size():
    assert reasons(run(nom="n" * 501).errors, "nom") == ["champ trop long : 501 caractères, 500 au maximum"]
    result = run(structure_parente="mot " * 200)
    assert result.ok
    assert len(result.values["structure_parente"]) <= 500
    assert reasons(result.warnings, "structure_parente")


def test_control_characters_are_removed():
    result = run(nom="Espace\x00 numérique\n\tcentre", presentation_detail="Ligne 1\r\nLigne 2\x07")
    assert result.values["nom"] == "Espace numérique centre"
    assert result.values["presentation_detail"] == "Ligne 1\nLigne 2"


def test_invisible_and_bidirectional_characters_are_removed():
    # A right-to-left override shows « Mairie\u202eeirotcéh » reversed; a zero-width space makes two
    # equal names (and two equal source ids) differ for the search, the deduplication and re-imports.
    result = run(id="lieu\u200b-1", nom="\ufeffMairie\u202e annexe\u202c", adresse="1 rue\u00a0de la\u00ad Paix\u2066",
                 presentation_detail="Atelier\u200e 👩\u200d💻")
    assert result.values["id"] == "lieu-1"
    assert result.values["nom"] == "Mairie annexe"
    assert result.values["adresse"] == "1 rue de la Paix"  # the no-break space becomes a space, as before
    assert result.values["presentation_detail"] == "Atelier 👩\u200d💻"  # the emoji's joiner stays


def test_horaires_are_kept_as_given():
    hours = "Mo-Fr 09:00-12:00,14:00-18:30; Sa 08:30-12:00"
    assert run(horaires=hours).values["horaires"] == hours
    assert run(horaires="n'importe quoi").values["horaires"] == "n'importe quoi"


def test_html_is_kept_as_given():
    text = "<b>Bienvenue</b> & bonjour"
    assert run(presentation_detail=text).values["presentation_detail"] == text


# ---------------------------------------------------------------- consistency with the database


def test_database_limits_match_the_lieu_model():
    from mednum.lieux.models import Lieu
    from mednum.standard.normalise import DB_MAX_LENGTHS

    model_names = {"id": "id_standard", "commune": "commune_nom"}
    for field, limit in DB_MAX_LENGTHS.items():
        assert Lieu._meta.get_field(model_names.get(field, field)).max_length == limit, field
    assert Lieu._meta.get_field("presentation_resume").max_length == 280


# ---------------------------------------------------------------- digits other than 0-9


@pytest.mark.parametrize("given", ["٥١١٠٠", "５１１００", "5110²", "³³⁰⁰⁰"])
def test_postal_code_takes_only_the_digits_0_to_9(given):
    """`str.isdigit` and `\\d` accept Arabic-Indic, full-width and superscript digits: such a code used
    to be stored as is (and then matched no commune)."""
    result = run(code_postal=given, adresse="85 cours du Maréchal Juin")
    assert not result.ok
    assert reasons(result.errors, "code_postal") == ["code postal invalide : 5 chiffres attendus"]


@pytest.mark.parametrize("given", ["²³⁴⁵⁶⁷⁸⁹¹²³⁴⁵⁶", "٢١٣٣٠٠٦٣٥٠٠٠١٧", "２１３３００６３５０００１７"])
def test_pivot_takes_only_the_digits_0_to_9(given):
    result = run(pivot=given)
    assert result.ok and result.values["pivot"] == ""
    assert reasons(result.warnings, "pivot")[0].startswith("pivot invalide")


def test_insee_code_and_phone_take_only_the_digits_0_to_9():
    result = run(code_insee="٣٣٠٦٣", telephone="٠٥٥٦١٠٢١٠٠")
    assert result.values["code_insee"] == "" and result.values["telephone"] == ""
    assert reasons(result.warnings, "code_insee") and reasons(result.warnings, "telephone")


@pytest.mark.parametrize("given", ["²⁰⁰⁰⁰", "٤٥٠٠٠", "9" * 5000, "2024-０３-01"])
def test_dates_in_other_digits_or_absurdly_long_are_unreadable_not_a_crash(given):
    """« ²⁰⁰⁰⁰ » passed `isdigit` then failed `int` (an exception, reported as an unexpected error)."""
    result = run(date_maj=given)
    assert reasons(result.errors, "date_maj") == ["date illisible : AAAA-MM-JJ ou JJ/MM/AAAA attendu"]


def test_integer_coordinates_of_hundreds_of_digits_are_unreadable_not_a_crash():
    result = run(latitude=10**400, longitude=2)
    assert result.ok
    assert (result.values["latitude"], result.values["longitude"]) == ("", "")
    assert reasons(result.warnings, "latitude")
