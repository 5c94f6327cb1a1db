"""Column mappings (mednum.standard.mapping) and the Gironde mapping on the real Gironde file."""

import json
from collections import Counter

import pytest

from mednum.standard.mapping import Mapping, MappingError
from mednum.standard.normalise import Normaliser
from tests.standard.conftest import MAPPINGS

GIRONDE = MAPPINGS / "gironde.json"


def write(tmp_path, data, name="source.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def minimal(**fields):
    return {"format": "mednum/correspondance-1", "champs": {"id": {"colonne": "ID"}, **fields}}


# ---------------------------------------------------------------- the Gironde file


@pytest.fixture(scope="module")
def gironde_mapping():
    return Mapping.load(GIRONDE)


def test_gironde_mapping_reads_only_existing_columns(gironde_mapping, gironde_rows):
    gironde_mapping.check_columns(gironde_rows[0].keys())
    assert "Coord. X" in gironde_mapping.columns


def test_all_gironde_rows_map_and_normalise_without_error(gironde_mapping, gironde_rows, communes):
    assert len(gironde_rows) == 347
    normaliser = Normaliser(communes=communes, strict_enums=False)
    ids = set()
    warnings = Counter()
    for raw in gironde_rows:
        result = normaliser.normalise(gironde_mapping.apply(raw))
        assert result.errors == [], (raw["Lieu"], result.errors)
        assert not result.needs_geocoding
        assert result.values["code_insee"], raw["Lieu"]
        ids.add(result.values["id"])
        warnings.update(w.field for w in result.warnings)
    assert len(ids) == 347  # the hashed ids are unique
    assert warnings["pivot"] == 347  # the source has no SIRET
    assert warnings["code_postal"] == 26  # addresses without postal code: taken from the commune


def test_gironde_spot_checks(gironde_mapping, gironde_rows, communes):
    normaliser = Normaliser(communes=communes, strict_enums=False)
    by_name = {raw["Lieu"]: raw for raw in gironde_rows}
    raw = by_name["Abracodabra"]
    mapped = gironde_mapping.apply(raw)
    assert mapped["latitude"] == raw["Coord. X"] == 44.839574881764  # "Coord. X" holds the latitude
    assert mapped["longitude"] == raw["Coord. Y"]
    assert mapped["date_maj"] == "2021-12-07"
    assert mapped["adresse"] == "8 rue de la Boétie"
    assert mapped["code_postal"] == "33000"
    assert mapped["source"] == "Gironde"
    assert mapped["id"].startswith("gironde_") and len(mapped["id"]) == len("gironde_") + 16
    values = normaliser.normalise(mapped).values
    assert values["telephone"] == "+33557657539"
    assert values["site_web"] == "https://abracodabra.fr"
    assert values["latitude"] == "44.839575" and values["longitude"] == "-0.580238"
    assert values["frais_a_charge"] == "Payant"
    assert values["modalites_acces"] == "Se présenter|Téléphoner|Contacter par mail"
    assert "Loisirs et créations numériques" in values["services"]
    assert values["code_insee"] == "33063"

    associations = [r for r in gironde_rows if r["Type Structure"] == "Association"]
    assert {normaliser.normalise(gironde_mapping.apply(r)).values["typologie"] for r in associations} == {"ASSO"}
    collectivites = [r for r in gironde_rows if r["Type Structure"] == "Collectivité"]
    assert {gironde_mapping.apply(r)["typologie"] for r in collectivites} == {""}

    # Postal code extracted from the address: "9 Avenue du Général de Gaulle 33500 Libourne".
    libourne = next(r for r in gironde_rows if r["Adresse postale"] == "9 Avenue du Général de Gaulle 33500 Libourne")
    mapped = gironde_mapping.apply(libourne)
    assert (mapped["code_postal"], mapped["adresse"]) == ("33500", "9 Avenue du Général de Gaulle")

    # No postal code in the address: the normaliser takes the commune's.
    begles = next(r for r in gironde_rows if r["Adresse postale"] == "Rue Robert Schuman")
    assert gironde_mapping.apply(begles)["code_postal"] == ""
    assert normaliser.normalise(gironde_mapping.apply(begles)).values["code_postal"] == "33130"

    # Bassens exists in Gironde and in Savoie: the position tells them apart.
    bassens = next(r for r in gironde_rows if r["Adresse postale"] == "17 avenue Jean Jaurès")
    assert normaliser.normalise(gironde_mapping.apply(bassens)).values["code_insee"] == "33032"

    mediator = next(r for r in gironde_rows if r["Présence d'un médiateur"] == "Oui")
    assert "Accompagnement individuel" in gironde_mapping.apply(mediator)["modalites_accompagnement"]


def test_gironde_mapping_without_commune_index_only_misses_postal_codes(gironde_mapping, gironde_rows):
    normaliser = Normaliser(strict_enums=False)
    fields = Counter(
        error.field for raw in gironde_rows for error in normaliser.normalise(gironde_mapping.apply(raw)).errors
    )
    assert fields == Counter({"code_postal": 26})


# ---------------------------------------------------------------- sources of a value


def test_sources_and_transforms(tmp_path):
    mapping = Mapping.load(
        write(
            tmp_path,
            minimal(
                nom={"colonnes": ["Libellé 1", "Libellé 2"], "separateur": " – "},
                adresse={"modele": "{Numéro} {Voie}"},
                source={"valeur": "Réseau X"},
                code_postal={"colonne": "Adresse", "extraire": r"(?<!\d)(\d{5})(?!\d)"},
                commune={"colonne": "Adresse", "remplacer": [{"motif": r"^.*\d{5}\s*", "par": ""}]},
                date_maj={"colonne": "MAJ", "format_date": "%d/%m/%Y"},
                publics_specifiquement_adresses={
                    "colonne": "Publics",
                    "separateur_source": ";",
                    "correspondances": {"jeunes": "Jeunes", "séniors": "Seniors", "tous": None},
                },
                telephone={"colonne": "Tel", "defaut": "0556000000"},
                structure_parente={"colonne": "Réseau", "prefixe": "Réseau "},
            ),
        )
    )
    record = mapping.apply(
        {
            "ID": "7",
            "Libellé 1": "Médiathèque",
            "Libellé 2": "",
            "Numéro": "3",
            "Voie": "rue Haute",
            "Adresse": "3 rue Haute 33000 Bordeaux",
            "MAJ": "05/01/2023",
            "Publics": "Jeunes; SENIORS ;tous;Autres",
            "Tel": "",
            "Réseau": "Hubik",
        }
    )
    assert record == {
        "id": "7",
        "nom": "Médiathèque",
        "adresse": "3 rue Haute",
        "source": "Réseau X",
        "code_postal": "33000",
        "commune": "Bordeaux",
        "date_maj": "2023-01-05",
        "publics_specifiquement_adresses": "Jeunes|Seniors|Autres",
        "telephone": "0556000000",
        "structure_parente": "Réseau Hubik",
    }


def test_plain_column_keeps_the_value_type(tmp_path):
    mapping = Mapping.load(write(tmp_path, minimal(latitude={"colonne": "Y"})))
    assert mapping.apply({"ID": 3, "Y": 44.5}) == {"id": 3, "latitude": 44.5}
    assert mapping.apply({}) == {"id": None, "latitude": None}  # absent columns are empty


def test_hash_id_is_stable_and_tolerant(tmp_path):
    mapping = Mapping.load(write(tmp_path, {"champs": {"id": {"hachage": ["Nom", "Ville"], "prefixe": "src_"}}}))
    first = mapping.apply({"Nom": "Espace Numérique", "Ville": "Pessac"})["id"]
    assert first == mapping.apply({"Nom": "ESPACE  numérique ", "Ville": "pessac"})["id"]
    assert first != mapping.apply({"Nom": "Espace Numérique 2", "Ville": "Pessac"})["id"]
    assert first.startswith("src_") and len(first) == 20
    assert mapping.apply({"Nom": "", "Ville": ""})["id"] == ""


def test_rules(tmp_path):
    mapping = Mapping.load(
        write(
            tmp_path,
            minimal(
                frais_a_charge={
                    "regles": [
                        {
                            "valeur": "Gratuit",
                            "colonnes": ["Desc"],
                            "contient": ["gratuit"],
                            "sauf": ["sous condition"],
                        },
                        {"valeur": "gratuit sous condition", "colonnes": ["Desc"], "contient": ["sous condition"]},
                        {"valeur": "Payant", "colonnes": ["Desc", "Tarifs"], "contient": ["payant", "€"]},
                    ]
                },
                modalites_accompagnement={
                    "regles": [
                        {
                            "valeur": "Accompagnement individuel",
                            "si": [
                                {"colonnes": ["Médiateur"], "egal": ["oui"]},
                                {"colonnes": ["Desc"], "contient": ["accompagnement individuel"]},
                            ],
                        },
                        {"valeur": "Dans un atelier collectif", "colonnes": ["Desc"], "contient": ["atelier"]},
                    ]
                },
            ),
        )
    )

    def apply(**raw):
        return mapping.apply({"ID": "1", **raw})

    assert apply(Desc="Accès GRATUIT, ateliers le mardi")["frais_a_charge"] == "Gratuit"
    assert apply(Desc="Accès gratuit sous condition")["frais_a_charge"] == "Gratuit sous condition"
    assert apply(Desc="", Tarifs="5 €")["frais_a_charge"] == "Payant"
    assert apply(Desc="Ateliers collectifs")["modalites_accompagnement"] == "Dans un atelier collectif"
    assert apply(Médiateur="Oui", Desc="")["modalites_accompagnement"] == "Accompagnement individuel"
    assert apply(Médiateur="Oui, parfois", Desc="")["modalites_accompagnement"] == ""  # egal = whole value
    # Terms match at the start of a word, ignoring case, accents and typographic apostrophes.
    assert apply(Desc="Des xateliers")["modalites_accompagnement"] == ""
    assert apply(Desc="ACCOMPAGNEMENT INDIVIDUEL")["modalites_accompagnement"] == "Accompagnement individuel"


def test_typographic_apostrophes_match(tmp_path):
    mapping = Mapping.load(
        write(
            tmp_path,
            minimal(
                services={
                    "regles": [
                        {
                            "valeur": "Insertion professionnelle via le numérique",
                            "colonnes": ["D"],
                            "contient": ["recherche d’emploi"],
                        }
                    ]
                }
            ),
        )
    )
    assert mapping.apply({"ID": "1", "D": "Aide à la recherche d'emploi"})["services"]


# ---------------------------------------------------------------- errors


def test_bad_json(tmp_path):
    with pytest.raises(MappingError, match=r"source\.json : JSON invalide ligne 2, colonne \d+"):
        Mapping.load(write(tmp_path, '{"champs": {\n  "nom": {"colonne": "Lieu",}\n}}'))


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"format": ' + "9" * 5000 + "}"])
def test_json_too_deep_or_number_too_long(tmp_path, text):
    """Such files used to end in a RecursionError or a ValueError (a traceback instead of a message)."""
    with pytest.raises(MappingError, match=r"source\.json : JSON illisible"):
        Mapping.load(write(tmp_path, text))
    with pytest.raises(MappingError, match=r"JSON illisible"):
        Mapping.from_national_format(write(tmp_path, text))


def test_extracting_group_outside_the_matching_alternative_gives_nothing(tmp_path):
    """« (?:rue)|(avenue) » on « rue … »: group 1 did not take part (None); it used to raise AttributeError."""
    mapping = Mapping(minimal(adresse={"colonne": "A", "extraire": "(?:rue)|(avenue)"}))
    assert mapping.apply({"ID": "1", "A": "12 rue Haute"})["adresse"] == ""
    assert mapping.apply({"ID": "1", "A": "3 avenue Foch"})["adresse"] == "avenue"


def test_missing_file(tmp_path):
    with pytest.raises(MappingError, match="introuvable"):
        Mapping.load(tmp_path / "absent.json")


def test_unknown_field(tmp_path):
    with pytest.raises(MappingError, match="champ « telephone_fixe » inconnu du standard"):
        Mapping.load(write(tmp_path, minimal(telephone_fixe={"colonne": "Tél"})))


def test_missing_column():
    mapping = Mapping(minimal(nom={"colonne": "Lieu"}, latitude={"colonne": "Coord. X"}))
    with pytest.raises(MappingError) as raised:
        mapping.check_columns(["ID", "Lieu"])
    assert str(raised.value) == "colonne absente du fichier source : « Coord. X » (pour latitude)"
    assert mapping.missing_columns(["Lieu"]) == {"ID": ["id"], "Coord. X": ["latitude"]}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nom": {"colone": "Lieu"}}, "champ « nom » : clé « colone » inconnue"),
        ({"nom": {}}, "champ « nom » : indiquer une colonne"),
        ({"nom": {"colonne": "A", "valeur": "B"}}, "une seule source"),
        ({"code_postal": {"colonne": "A", "extraire": "(\\d{5"}}, "expression régulière invalide"),
        ({"code_postal": {"colonne": "A", "extraire": "a{99999999999999999999}"}}, "trop grande ou trop imbriquée"),
        ({"code_postal": {"colonne": "A", "extraire": "(" * 5000 + "a" + ")" * 5000}}, "trop grande ou trop imbriquée"),
        ({"adresse": {"colonne": "A", "remplacer": [{"motif": "rue", "par": "\\1"}]}}, "« par » invalide"),
        ({"adresse": {"colonne": "A", "remplacer": [{"motif": "rue", "par": "\\q"}]}}, "« par » invalide"),
        ({"adresse": {"colonne": "A", "remplacer": [["(?P<voie>rue)", "\\g<nom>"]]}}, "« par » invalide"),
        ({"date_maj": {"colonne": "A", "format_date": "%d/%m"}}, "doit contenir le jour, le mois et l'année"),
        (
            {"services": {"regles": [{"valeur": "Cuisine", "colonnes": ["D"], "contient": ["x"]}]}},
            "règle n° 1 : valeur « Cuisine » inconnue pour services",
        ),
        (
            {"services": {"regles": [{"valeur": "Aide aux démarches administratives", "colonnes": ["D"]}]}},
            "règle n° 1 : une règle doit avoir « contient » ou « egal »",
        ),
        (
            {"typologie": {"colonne": "T", "correspondances": {"Asso": "ASSOCIATION"}}},
            "typologie « ASSOCIATION » inconnue",
        ),
        ({"nom": {"hachage": ["A"]}}, "« hachage » n'est possible que pour le champ id"),
        (
            {"nom": {"regles": [{"valeur": "x", "colonnes": ["D"], "contient": ["x"]}]}},
            "les règles ne s'appliquent qu'aux champs à valeurs multiples",
        ),
    ],
)
def test_invalid_field_specs(tmp_path, fields, message):
    with pytest.raises(MappingError, match=message):
        Mapping.load(write(tmp_path, minimal(**fields)))


def test_mapping_without_id_or_fields(tmp_path):
    with pytest.raises(MappingError, match="« id » doit être défini"):
        Mapping.load(write(tmp_path, {"champs": {"nom": "Lieu"}}))
    with pytest.raises(MappingError, match="« champs »"):
        Mapping.load(write(tmp_path, {"format": "mednum/correspondance-1"}))
    with pytest.raises(MappingError, match="format « v2 » inconnu"):
        Mapping.load(write(tmp_path, {"format": "v2", "champs": {"id": "ID"}}))
    with pytest.raises(MappingError, match="objet JSON est attendu"):
        Mapping.load(write(tmp_path, "[1, 2]"))


def test_error_messages_name_the_file(tmp_path):
    with pytest.raises(MappingError, match=r"^fichier de correspondance ma-source\.json : champ « x » inconnu"):
        Mapping.load(write(tmp_path, minimal(x="A"), name="ma-source.json"))


# ---------------------------------------------------------------- national format


def test_from_national_format(tmp_path, gironde_rows):
    national = {
        "nom": {"colonne": "Lieu"},
        "commune": {"colonne": "Commune"},
        "adresse": {"colonne": "Adresse postale"},
        "code_postal": {"colonne": ""},
        "latitude": {"colonne": "Coord. X"},
        "longitude": {"colonne": "Coord. Y"},
        "date_maj": {"colonne": "Dernière MAJ"},
        "typologie": [{"colonnes": ["Type Structure"], "termes": ["Association"], "cible": "ASSO"}],
        "frais_a_charge": [
            {"colonnes": ["Description"], "termes": ["gratuit"], "sauf": ["Gratuit sous condition"], "cible": "Gratuit"}
        ],
        "horaires": {"osm": "horaires"},
    }
    mapping = Mapping.from_national_format(write(tmp_path, national, "national.json"), source="Gironde")
    record = mapping.apply(gironde_rows[1])
    assert record["nom"] == gironde_rows[1]["Lieu"]
    assert record["latitude"] == gironde_rows[1]["Coord. X"]
    assert record["typologie"] == "ASSO"
    assert record["source"] == "Gironde"
    assert "code_postal" not in record
    assert len(record["id"]) == 16
    result = Normaliser(strict_enums=False).normalise(record)
    assert result.values["code_postal"] == "33500"  # from the address, by the normaliser
    assert result.ok

    with pytest.raises(MappingError, match="forme non prise en charge"):
        Mapping.from_national_format(write(tmp_path, {"nom": {"dissocier": "x"}}, "bad.json"))


def test_column_names_typed_with_decomposed_accents_match(tmp_path):
    """« Téléphone » typed on a Mac may reach the mapping file as « e » + U+0301; the readers give
    composed column names: both sides are compared in composed form."""
    mapping = Mapping.load(write(tmp_path, minimal(telephone={"colonne": "Te\u0301le\u0301phone"})))
    assert mapping.columns == ["ID", "Téléphone"]
    assert mapping.apply({"ID": "1", "Téléphone": "0326000000"})["telephone"] == "0326000000"
