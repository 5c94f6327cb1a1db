"""Upgrade of v0.1 records to v1 (mednum.standard.upgrade) and the real Hinaura file."""

import json
from collections import Counter

import pytest

from mednum.standard import schema
from mednum.standard.normalise import Normaliser
from mednum.standard.upgrade import UPGRADE_TABLE_PATH, looks_like_v0, upgrade_v0_record


def test_looks_like_v0():
    assert looks_like_v0(["id", "nom", "services", "publics_accueillis", "conditions_acces"])
    assert looks_like_v0(["id", "nom", "courriel", "cle_ban"])
    assert not looks_like_v0(list(schema.field_names()))
    assert not looks_like_v0(["id", "nom", "services"])
    # A v1 file that kept an extra cle_ban column is still v1.
    assert not looks_like_v0([*schema.field_names(), "cle_ban"])


def test_table_targets_are_valid_values_of_the_standard():
    table = json.loads(UPGRADE_TABLE_PATH.read_text(encoding="utf-8"))
    enumerations = schema.enumerations()
    for old_field, values in table["valeurs"].items():
        assert values["_cible_par_defaut"] in schema.field_names()
        for old_value, targets in values.items():
            if old_value.startswith("_"):
                continue
            for field, new_values in targets.items():
                assert field in schema.field_names(), (old_field, old_value)
                if field in enumerations:
                    assert set(new_values) <= set(enumerations[field]), (old_field, old_value)
    assert len([v for v in table["valeurs"]["services"] if not v.startswith("_")]) == 15


def test_a_record_is_upgraded():
    record = {
        "id": "42",
        "pivot": "00000000000000",
        "services": "Prendre en main un ordinateur;Accéder à du matériel;Utiliser le numérique au quotidien",
        "publics_accueillis": (
            "Adultes;Seniors (+ 65 ans);Jeunes (16-26 ans);Familles/enfants;Uniquement femmes;Surdité;"
            "Handicaps psychiques : troubles psychiatriques donnant lieu à des atteintes comportementales;"
            "Personnes en situation d'illettrisme;Public langues étrangères"
        ),
        "conditions_acces": (
            "Gratuit sous condition : La gratuité est conditionnée à des critères (situation familiale, "
            "convention avec un organisme social...);Adhésion : L'accès au lieu et/ou à ses services nécessite "
            "d'y adhérer;Accepte le Pass numérique : Il est possible d'utiliser un Pass numérique pour accéder au lieu"
        ),
        "labels_nationaux": "CNFS;France Services;Fabriques de Territoire;Grandes écoles du numérique;"
        "Point relais CAF;APTIC",
        "labels_autres": "Label régional",
        "modalites_accompagnement": "Seul : j'ai accès à du matériel et une connexion;"
        "A ma place : une personne habilitée fait les démarches à ma place",
        "courriel": "contact@lieu.fr",
        "site_web": "https://a.fr;http://b.fr",
        "cle_ban": "74001_0150",
        "accessibilite": "https://acceslibre.beta.gouv.fr/app/74-abondance/a/mairie/erp/mairie-abondance/",
        "latitude": 46.2794,
    }
    upgraded = upgrade_v0_record(record)
    assert upgraded["services"] == "Maîtrise des outils numériques du quotidien|Accès internet et matériel informatique"
    assert upgraded["publics_specifiquement_adresses"] == "Seniors|Jeunes|Familles et/ou enfants|Femmes"
    assert upgraded["prise_en_charge_specifique"] == (
        "Surdité|Handicaps mentaux|Illettrisme|Langues étrangères (autres)"
    )
    assert upgraded["frais_a_charge"] == "Gratuit sous condition|Payant"
    assert upgraded["dispositif_programmes_nationaux"] == (
        "Conseillers numériques|France Services|Grande école du numérique|Point d'accès numérique CAF"
    )
    assert upgraded["formations_labels"] == "Fabriques de Territoire"
    assert upgraded["autres_formations_labels"] == "Label régional|Pass numérique|APTIC"
    assert upgraded["modalites_accompagnement"] == "En autonomie|Accompagnement individuel"
    assert upgraded["courriels"] == "contact@lieu.fr"
    assert upgraded["site_web"] == "https://a.fr|http://b.fr"
    assert upgraded["fiche_acces_libre"].startswith("https://acceslibre.beta.gouv.fr/")
    assert "cle_ban" not in upgraded and "courriel" not in upgraded and "publics_accueillis" not in upgraded
    assert upgraded["latitude"] == 46.2794  # untouched


def test_accessibilite_that_is_not_acceslibre_is_dropped():
    assert "fiche_acces_libre" not in upgrade_v0_record({"id": "1", "accessibilite": "Accès PMR par l'arrière"})


def test_short_labels_and_case_are_recognised():
    upgraded = upgrade_v0_record({"publics_accueillis": "handicaps mentaux;SENIORS (+ 65 ANS)"})
    assert upgraded["prise_en_charge_specifique"] == "Handicaps mentaux"
    assert upgraded["publics_specifiquement_adresses"] == "Seniors"


def test_unknown_old_value_goes_to_its_default_field_and_is_reported():
    upgraded = upgrade_v0_record({"services": "Prendre en main un ordinateur;Faire du vélo"})
    assert upgraded["services"] == "Maîtrise des outils numériques du quotidien|Faire du vélo"
    result = Normaliser().normalise(
        {
            **upgraded,
            "id": "1",
            "nom": "n",
            "commune": "c",
            "code_postal": "74000",
            "adresse": "a",
            "date_maj": "2022-01-01",
        }
    )
    assert [e.value for e in result.errors] == ["Faire du vélo"]


def test_all_hinaura_rows_upgrade_and_normalise_without_error(hinaura_rows, communes):
    assert len(hinaura_rows) == 687
    assert looks_like_v0({key for row in hinaura_rows for key in row})
    warnings = Counter()
    normaliser = Normaliser(communes=communes)
    for row in hinaura_rows:
        result = normaliser.normalise(upgrade_v0_record(row))
        assert result.errors == [], (row["id"], result.errors)
        assert result.values["services"]
        assert not result.needs_geocoding
        warnings.update(w.field for w in result.warnings)
    # Every row has the placeholder pivot; the other warnings are rare.
    assert warnings["pivot"] == 687
    assert sum(warnings.values()) - warnings["pivot"] < 30


@pytest.mark.parametrize("strict", [True, False])
def test_hinaura_without_commune_index(hinaura_rows, strict):
    normaliser = Normaliser(strict_enums=strict)
    assert all(not normaliser.normalise(upgrade_v0_record(row)).errors for row in hinaura_rows)


def test_hinaura_spot_checks(hinaura_rows, communes):
    normaliser = Normaliser(communes=communes)
    first = normaliser.normalise(upgrade_v0_record(hinaura_rows[0])).values
    assert first["id"] == "0"
    assert first["pivot"] == ""
    assert first["code_insee"] == "74001"  # Abondance
    assert first["services"] == "Aide aux démarches administratives|Accès internet et matériel informatique"
    assert first["publics_specifiquement_adresses"] == "Jeunes|Familles et/ou enfants|Seniors"
    assert first["prise_en_charge_specifique"] == "Surdité|Handicaps mentaux|Illettrisme|Déficience visuelle"
    assert first["frais_a_charge"] == "Gratuit"
    assert first["modalites_accompagnement"] == "Accompagnement individuel"
    assert first["latitude"] == "46.27947"
    assert first["horaires"] == "Tu-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00"
    several_sites = [r for r in hinaura_rows if ";" in r.get("site_web", "")]
    assert several_sites
    values = normaliser.normalise(upgrade_v0_record(several_sites[0])).values
    assert values["site_web"].count("|") == 1 and ";" not in values["site_web"]
