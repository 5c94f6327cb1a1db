"""Demonstration data: the two real source files shipped with mednum, plus synthetic lieux.

`load_demo()` (command `manage.py load_demo`, run by `make run` after `load_territoires`):

1. imports `data/demo/hinaura-v0.1.json` (source "Hinaura", standard v0.1, Licence Ouverte 2.0) and
   `data/demo/gironde-raw.json` with the mapping `mednum/imports/mappings/gironde.json` (source
   "Gironde");
2. generates synthetic lieux (2,000 by default, fixed seed) in the communes of every other part of
   France — never in Auvergne-Rhône-Alpes nor in Gironde, where the real data is — and imports them
   flagged `est_demo` (the site says "données de démonstration"; exports leave them out);
3. runs the deduplication.

A second run with the same files and settings does nothing: a marker under `DATA_DIR` records what was
loaded, and is trusted only while the database still holds the same numbers of records.

The synthetic generator (`iter_rows`, also behind `bench/generate_lieux.py`) writes rows of the
standard v1.0.2 that look like the real ones: communes drawn in proportion to their population,
positions scattered a few hundred metres to a few kilometres around the town centre depending on the
town's size, names by kind of place (médiathèque, France Services, centre social, tiers-lieu,
mairie, fablab, association…), the fill rates seen in real sources (phone ~70 %, e-mail ~60 %, hours
~60 %, real SIRET ~40 %…), valid OpenStreetMap opening hours, and a share of duplicates: the same
place published again by another source, with its name, address and position rewritten the way
sources differ (`second_source`). No Django import at module level: the generator runs standalone.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import hashlib
import json
import math
import random
import re
import unicodedata
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

from mednum.standard import schema

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_DIR = PACKAGE_DIR / "data" / "demo"
HINAURA_FILE = DEMO_DIR / "hinaura-v0.1.json"
GIRONDE_FILE = DEMO_DIR / "gironde-raw.json"
GIRONDE_MAPPING = PACKAGE_DIR.parent / "imports" / "mappings" / "gironde.json"
COMMUNES_CSV = PACKAGE_DIR.parent / "territoires" / "data" / "communes.csv.gz"

DEMO_SEED = 2024
DEMO_SYNTHETIC = 2000
DEMO_DUPLICATES = 0.08
# Where the real demo data lies: synthetic lieux go elsewhere.
DEMO_EXCLUDED_REGIONS = frozenset({"84"})  # Auvergne-Rhône-Alpes
DEMO_EXCLUDED_DEPARTEMENTS = frozenset({"33"})  # Gironde
GENERATOR_VERSION = 1

SYNTHETIC_SOURCES = [  # (name, weight)
    ("Coop de la médiation numérique", 30), ("Dora", 20), ("Réseau France Services", 15),
    ("Conseillers numériques", 15), ("Hub régional", 10), ("Conseil départemental", 10),
]
DEMO_SOURCE_SUFFIX = " (démonstration)"

PEOPLE = ["Jean Moulin", "Victor Hugo", "Louise Michel", "Simone Veil", "Aimé Césaire", "Jules Verne",
          "Émile Zola", "Albert Camus", "George Sand", "Marguerite Yourcenar", "Jacques Prévert", "Colette",
          "Louis Aragon", "Elsa Triolet", "Pablo Neruda", "Nelson Mandela", "Jean Jaurès", "Marie Curie",
          "Boris Vian", "Saint-Exupéry", "Paul Éluard", "Olympe de Gouges", "Rosa Parks", "Gisèle Halimi",
          "Jean de La Fontaine", "Molière", "Voltaire", "François Rabelais", "Lucie Aubrac", "Joséphine Baker"]
QUARTERS = ["Nord", "Sud", "Est", "Ouest", "Centre", "des Coteaux", "du Lac", "de la Gare", "du Port", "des Pins",
            "du Château", "des Tilleuls", "de la Source", "Bellevue", "les Hauts"]
STREETS = ["rue de la République", "place de la Mairie", "avenue Jean Jaurès", "rue Victor Hugo",
           "boulevard Gambetta", "rue de l'Église", "chemin des Écoles", "allée des Tilleuls", "rue Pasteur",
           "place du Marché", "rue du 8 Mai 1945", "avenue de la Gare", "rue des Écoles", "place Charles de Gaulle",
           "rue Jean Moulin", "avenue du Général Leclerc", "rue de la Paix", "grande rue", "rue du Stade",
           "place de l'Hôtel de Ville", "rue Nationale", "route de Paris", "impasse des Lilas", "cours Gambetta"]
ASSOCIATIONS = ["Les Amis du Numérique", "Clic et Vous", "Solidarité Connectée", "Le Fil d'Ariane",
                "Cyber Seniors", "Rebonds", "Ordi Solidaire", "Les Petits Débrouillards", "Lire et Écrire",
                "Familles Rurales", "Secours populaire", "Accueil et Partage", "Emmaüs Connect", "Point Virgule",
                "Le Lien", "Cap Numérique", "L'Escale", "Les Connectés"]

# Kind of place: (weight, typologie, name templates, dispositifs likely)
KINDS = [
    (18, "BIB", ["Médiathèque {person}", "Médiathèque de {commune}", "Bibliothèque municipale de {commune}",
                 "Médiathèque intercommunale {commune}", "Médiathèque {quarter}"], ["Bibliothèques numérique de référence"]),
    (14, "RFS", ["France Services {commune}", "Espace France Services de {commune}",
                 "Maison France Services - {commune}", "France Services {quarter}"], ["France Services", "Conseillers numériques"]),
    (10, "CS", ["Centre social {quarter}", "Centre social de {commune}", "Centre socioculturel {person}",
                "Espace de vie sociale {quarter}"], ["Conseillers numériques"]),
    (9, "MUNI", ["Mairie de {commune}", "Mairie annexe {quarter}", "Hôtel de ville de {commune}"], ["Aidants Connect"]),
    (9, "ASSO", ["{association}", "Association {association}", "{association} - {commune}"], ["Conseillers numériques"]),
    (7, "TIERS_LIEUX", ["Tiers-lieu {quarter}", "La Fabrique de {commune}", "Tiers-lieu Le {thing}"],
     ["Fabriques de Territoire"]),
    (6, "CCAS", ["CCAS de {commune}", "Centre communal d'action sociale de {commune}", "CCAS - antenne {quarter}"],
     ["Aidants Connect"]),
    (5, "MUNI", ["Espace public numérique de {commune}", "EPN {quarter}", "Cyberbase de {commune}"], []),
    (4, "FABLAB", ["Fablab de {commune}", "Fab Lab {thing}"], []),
    (4, "ML", ["Mission locale de {commune}", "Mission locale - antenne {quarter}"], ["Promeneurs du net"]),
    (4, "MQ", ["Maison de quartier {quarter}", "Maison des habitants {quarter}"], []),
    (3, "MJC", ["MJC de {commune}", "MJC {person}"], ["Promeneurs du net"]),
    (3, "PIJ_BIJ", ["Point information jeunesse de {commune}", "Info Jeunes {commune}", "Info Jeunes {quarter}"],
     ["Promeneurs du net"]),
    (2, "CAF", ["Point d'accueil CAF de {commune}", "Point d'accueil CAF {quarter}"], ["Point d'accès numérique CAF"]),
    (2, "LA_POSTE", ["La Poste - espace numérique {commune}", "La Poste {quarter} - espace numérique"], ["France Services"]),
]
THINGS = ["Hangar", "Moulin", "Atelier", "Quai", "Local", "Comptoir", "Grenier", "Relais", "Carré", "Phare"]
SERVICE_DETAIL = [
    "Accompagnement individuel aux démarches en ligne, sur rendez-vous.",
    "Ateliers collectifs d'initiation : ordinateur, smartphone, messagerie.",
    "Accès libre à des ordinateurs et à une imprimante, avec l'aide d'un médiateur.",
    "Permanences d'un conseiller numérique pour les démarches administratives.",
    "Initiation à la sécurité en ligne et aux usages du quotidien.",
]
DAYS = ["Mo-Fr", "Tu-Sa", "Mo,We,Fr", "Tu-Fr", "We", "Mo-Th", "Tu,Th", "Mo-Sa"]
TIMES = ["09:00-12:00,14:00-17:30", "10:00-18:00", "13:30-17:00", "09:00-12:30", "08:30-12:00,13:30-17:00",
         "14:00-18:00", "09:30-12:00,14:00-18:30"]
SATURDAYS = ["", "", "; Sa 09:00-12:00", "; Sa 10:00-12:30"]
BIG_TOWN = 30_000
IDF = frozenset({"75", "77", "78", "91", "92", "93", "94", "95"})
PHONE_PREFIX = {"971": "+590", "972": "+596", "973": "+594", "974": "+262", "976": "+262"}

FIELD_NAMES = schema.field_names()
PIVOT_UNKNOWN = "00000000000000"  # = mednum.standard.normalise.PIVOT_UNKNOWN (no Django import here)


# --- communes -------------------------------------------------------------------------------------

class Commune(tuple):
    __slots__ = ()
    code = property(lambda self: self[0])
    nom = property(lambda self: self[1])
    postal = property(lambda self: self[2])
    population = property(lambda self: self[3])
    departement = property(lambda self: self[4])
    latitude = property(lambda self: self[5])
    longitude = property(lambda self: self[6])


def load_communes(*, exclude_regions=frozenset(), exclude_departements=frozenset()) -> list[Commune]:
    """Communes with a position, from mednum's commune reference file (else the database)."""
    rows = []
    if COMMUNES_CSV.is_file():
        with gzip.open(COMMUNES_CSV, "rt", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    else:  # pragma: no cover - the file ships with mednum
        from mednum.territoires.models import Commune as CommuneModel

        for c in CommuneModel.objects.values("code", "nom", "codes_postaux", "population", "departement_id",
                                             "region_id", "zone", "latitude", "longitude"):
            rows.append({**c, "codes_postaux": " ".join(c["codes_postaux"] or []), "departement": c["departement_id"],
                         "region": c["region_id"]})
    result = []
    for row in rows:
        if row.get("zone") not in ("metro", "drom") or not row.get("latitude") or not row.get("longitude"):
            continue
        if row.get("region") in exclude_regions or row.get("departement") in exclude_departements:
            continue
        postal = (re.split(r"[ |]", str(row.get("codes_postaux") or "")) or [""])[0]
        if not re.fullmatch(r"\d{5}", postal):
            continue
        result.append(Commune((row["code"], row["nom"], postal, int(row.get("population") or 0),
                               row["departement"], float(row["latitude"]), float(row["longitude"]))))
    return result


# --- perturbations: the same place as another source would publish it ------------------------------

def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    choice = rng.random()
    if choice < 0.5:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]  # swapped letters
    elif choice < 0.8:
        w = w[:j] + w[j + 1:]  # letter dropped
    else:
        w = w[:j] + w[j] + w[j:]  # letter doubled
    words[i] = w
    return " ".join(words)


NAME_ABBREVIATIONS = [
    (r"(?i)centre communal d'action sociale", "CCAS"),
    (r"(?i)maison de services? au public", "France Services"),
    (r"(?i)espace public num[ée]rique", "EPN"),
    (r"(?i)\bsaint\b", "St"),
    (r"(?i)\bassociation\b", "Asso"),
    (r"(?i)point information jeunesse", "PIJ"),
]


def name_variant(rng: random.Random, nom: str, commune: str) -> str:
    """A name as another source writes it: capitals, accents lost, "municipale", commune added or
    dropped, an abbreviation, a typo, a suffix dropped or added."""
    result = nom
    operations = rng.sample(["case", "accents", "municipale", "commune", "abbrev", "typo", "suffix", "epn"],
                            k=rng.choice([1, 1, 2, 2, 3]))
    for op in operations:
        if op == "case":
            result = result.upper() if rng.random() < 0.5 else result.title()
        elif op == "accents":
            result = strip_accents(result)
        elif op == "municipale":
            result = re.sub(r"(?i)\b(médiathèque|bibliothèque)\b(?! municipale)", r"\1 municipale", result, count=1)
        elif op == "commune":
            if commune and commune.lower() in result.lower():
                result = re.sub(r"(?i)\s*(-|de|d'|à)?\s*" + re.escape(commune), "", result).strip(" -") or result
            elif commune:
                result = f"{result} - {commune}" if rng.random() < 0.5 else f"{result} de {commune}"
        elif op == "abbrev":
            for pattern, short in NAME_ABBREVIATIONS:
                if re.search(pattern, result):
                    result = re.sub(pattern, short, result)
                    break
        elif op == "typo":
            result = typo(rng, result)
        elif op == "suffix":
            if " - " in result:
                result = result.split(" - ")[0]
            elif "(" in result:
                result = result.split("(")[0].strip()
        elif op == "epn":
            result = f"{result} - Espace numérique"
    return re.sub(r"\s+", " ", result).strip()


ADDRESS_ABBREVIATIONS = [(r"(?i)\brue\b", "r."), (r"(?i)\bavenue\b", "av."), (r"(?i)\bboulevard\b", "bd"),
                         (r"(?i)\bplace\b", "pl."), (r"(?i)\bsaint\b", "St"), (r"(?i)\bchemin\b", "ch."),
                         (r"(?i)\ballée\b", "all."), (r"(?i)\broute\b", "rte")]


def address_variant(rng: random.Random, adresse: str, code_postal: str, commune: str) -> str:
    """An address as another source writes it: 12 bis / 12B, r. / av. / bd, capitals, a typo, the
    postal code appended, the number missing, a comma after the number."""
    result = adresse
    for op in rng.sample(["bis", "abbrev", "case", "typo", "postal", "nonumber", "comma"], k=rng.choice([1, 1, 2])):
        if op == "bis":
            result = re.sub(r"^(\d+)\s*(bis|ter)\b", lambda m: m.group(1) + m.group(2)[0].upper(), result, flags=re.I) \
                if re.match(r"^\d+\s*(bis|ter)\b", result, re.I) else \
                re.sub(r"^(\d+)([bBtT])\b", lambda m: m.group(1) + (" bis" if m.group(2) in "bB" else " ter"), result)
        elif op == "abbrev":
            for pattern, short in rng.sample(ADDRESS_ABBREVIATIONS, 3):
                result = re.sub(pattern, short, result)
        elif op == "case":
            result = result.upper()
        elif op == "typo":
            result = typo(rng, result)
        elif op == "postal" and code_postal:
            result = f"{result} - {code_postal} {commune}"
        elif op == "nonumber" and rng.random() < 0.5:
            result = re.sub(r"^\d+\s*(bis|ter|[a-zA-Z]\b)?\s*,?\s*", "", result)
        elif op == "comma":
            result = re.sub(r"^(\d+\w*)\s+", r"\1, ", result)
    return result.strip() or adresse


def format_coordinate(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def moved(rng: random.Random, latitude: str, longitude: str, low: float, high: float) -> tuple[str, str]:
    """A position moved by low–high metres in a random direction ('' stays '')."""
    if not latitude or not longitude:
        return "", ""
    lat, lon = float(latitude), float(longitude)
    distance = rng.uniform(low, high)
    angle = rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(angle) / 111_320
    dlon = distance * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return format_coordinate(lat + dlat), format_coordinate(lon + dlon)


# --- synthetic rows -------------------------------------------------------------------------------

def _siret(rng: random.Random) -> str:
    """14 digits passing the Luhn check, like a real SIRET."""
    digits = [rng.randrange(10) for _ in range(13)]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _mail_domain(commune: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", strip_accents(commune.lower())).strip("-") or "commune"


def _pick(rng: random.Random, values: list[str], low: int, high: int) -> str:
    count = rng.randint(low, min(high, len(values)))
    chosen = set(rng.sample(values, count))
    return "|".join(v for v in values if v in chosen)  # the standard's order


class Generator:
    """Streams synthetic rows of the standard (dicts keyed by the standard's field names)."""

    def __init__(self, *, seed: int = DEMO_SEED, duplicates: float = 0.0, communes=None,
                 exclude_regions=frozenset(), exclude_departements=frozenset(), id_prefix: str = "synth-",
                 source_suffix: str = ""):
        self.rng = random.Random(seed)
        self.duplicates = duplicates
        self.communes = communes if communes is not None else load_communes(
            exclude_regions=exclude_regions, exclude_departements=exclude_departements)
        if not self.communes:
            raise ValueError("Aucune commune disponible pour générer des lieux.")
        self.cum_weights = list(accumulate(max(c.population, 50) for c in self.communes))
        self.kind_weights = list(accumulate(k[0] for k in KINDS))
        self.source_names = [name + source_suffix for name, _ in SYNTHETIC_SOURCES]
        self.source_weights = list(accumulate(w for _, w in SYNTHETIC_SOURCES))
        self.id_prefix = id_prefix
        self.enums = schema.enumerations()
        self.kept: list[dict] = []
        self.duplicate_of_ids: dict[str, str] = {}  # duplicate's id → id of the row it repeats
        self.today = date(2025, 6, 30)

    def _choose(self, cum_weights, items):
        x = self.rng.random() * cum_weights[-1]
        return items[bisect.bisect_right(cum_weights, x)]

    def _position(self, commune: Commune) -> tuple[str, str]:
        rng = self.rng
        # Lieux cluster around the centre; the bigger the town, the wider they spread.
        scale_km = 0.2 + 0.8 * math.log10(commune.population / 1000 + 1)
        distance_km = scale_km * math.sqrt(-2 * math.log(1 - rng.random() * 0.999))
        angle = rng.random() * 2 * math.pi
        lat = commune.latitude + distance_km * math.cos(angle) / 111.32
        lon = commune.longitude + distance_km * math.sin(angle) / (111.32 * math.cos(math.radians(commune.latitude)))
        return format_coordinate(lat), format_coordinate(lon)

    def _phone(self, commune: Commune) -> str:
        prefix = PHONE_PREFIX.get(commune.departement)
        if prefix:
            return prefix + str(self.rng.randrange(10**8, 10**9))
        if self.rng.random() < 0.2:
            first = self.rng.choice("67")  # a mobile
        elif commune.departement in IDF:
            first = "1"
        else:
            first = str(2 + sum(map(ord, commune.departement)) % 4)  # one landline zone per département
        return f"+33{first}{self.rng.randrange(10**8):08d}"

    def new_row(self, n: int) -> dict:
        rng = self.rng
        commune = self._choose(self.cum_weights, self.communes)
        _, typologie, templates, dispositifs = self._choose(self.kind_weights, KINDS)
        if commune.population > BIG_TOWN:
            # In a city, places are named after a person or a quarter, not after the city.
            templates = [t for t in templates if "{commune}" not in t] or templates
        nom = rng.choice(templates).format(
            person=rng.choice(PEOPLE), commune=commune.nom, quarter=rng.choice(QUARTERS),
            association=rng.choice(ASSOCIATIONS), thing=rng.choice(THINGS))
        enums = self.enums
        r = rng.random
        latitude, longitude = self._position(commune) if r() < 0.95 else ("", "")
        number = rng.randint(1, 150)
        suffix = rng.choice(["", "", "", "", "", " bis", " ter", "B"])
        services = _pick(rng, enums["services"], 1, 5)
        row = dict.fromkeys(FIELD_NAMES, "")
        row.update(
            id=f"{self.id_prefix}{n:07d}",
            pivot=_siret(rng) if r() < 0.4 else PIVOT_UNKNOWN,
            nom=nom,
            commune=commune.nom,
            code_postal=commune.postal,
            code_insee=commune.code if r() < 0.8 else "",
            adresse=f"{number}{suffix} {rng.choice(STREETS)}" if r() < 0.9 else rng.choice(STREETS).capitalize(),
            complement_adresse="" if r() < 0.85 else rng.choice(["Bâtiment B", "1er étage", "Entrée par la cour",
                                                                  "Rez-de-chaussée"]),
            latitude=latitude,
            longitude=longitude,
            typologie=typologie if r() < 0.8 else "",
            telephone=self._phone(commune) if r() < 0.7 else "",
            courriels=f"contact@{_mail_domain(commune.nom)}-{n % 997}.fr" if r() < 0.6 else "",
            site_web=f"https://www.{_mail_domain(commune.nom)}.fr/numerique" if r() < 0.5 else "",
            horaires=f"{rng.choice(DAYS)} {rng.choice(TIMES)}{rng.choice(SATURDAYS)}" if r() < 0.6 else "",
            presentation_resume=rng.choice(SERVICE_DETAIL) if r() < 0.7 else "",
            presentation_detail=" ".join(rng.sample(SERVICE_DETAIL, 2)) if r() < 0.4 else "",
            source=self._choose(self.source_weights, self.source_names),
            itinerance="Itinérant" if r() < 0.08 else ("Fixe" if r() < 0.5 else ""),
            structure_parente="" if r() < 0.9 else f"Communauté de communes de {commune.nom}",
            date_maj=(self.today - timedelta(days=int(rng.expovariate(1 / 300)) % 1500)).isoformat(),
            services=services,
            publics_specifiquement_adresses=_pick(rng, enums["publics_specifiquement_adresses"], 1, 3) if r() < 0.3 else "",
            prise_en_charge_specifique=_pick(rng, enums["prise_en_charge_specifique"], 1, 2) if r() < 0.2 else "",
            frais_a_charge=_pick(rng, enums["frais_a_charge"], 1, 2) if r() < 0.7 else "",
            dispositif_programmes_nationaux="|".join(
                v for v in enums["dispositif_programmes_nationaux"]
                if v in dispositifs and r() < 0.6 or (v == "Conseillers numériques" and r() < 0.15)),
            formations_labels=_pick(rng, enums["formations_labels"], 1, 1) if r() < 0.1 else "",
            modalites_acces=_pick(rng, enums["modalites_acces"][:4], 1, 3) if r() < 0.7 else "",
            modalites_accompagnement=_pick(rng, enums["modalites_accompagnement"], 1, 3) if r() < 0.8 else "",
            fiche_acces_libre=f"https://acceslibre.beta.gouv.fr/app/{commune.code}/erp/lieu-{n}/" if r() < 0.05 else "",
            prise_rdv=f"https://www.rdv-solidarites.fr/lieux/{n}" if r() < 0.1 else "",
        )
        return row

    def duplicate_of(self, base: dict, n: int) -> dict:
        """The same place as another source publishes it."""
        rng = self.rng
        row = dict(base)
        row["id"] = f"{self.id_prefix}{n:07d}"
        self.duplicate_of_ids[row["id"]] = self.duplicate_of_ids.get(base["id"], base["id"])
        others = [s for s in self.source_names if s != base["source"]]
        row["source"] = rng.choice(others)
        row["nom"] = name_variant(rng, base["nom"], base["commune"])
        if rng.random() < 0.8:
            row["adresse"] = address_variant(rng, base["adresse"], base["code_postal"], base["commune"])
        r = rng.random()
        if r < 0.1:
            row["latitude"] = row["longitude"] = ""
        else:
            row["latitude"], row["longitude"] = moved(rng, base["latitude"], base["longitude"], 5, 80 if r < 0.95 else 150)
        row["pivot"] = base["pivot"] if rng.random() < 0.4 else PIVOT_UNKNOWN
        r = rng.random()
        if r < 0.6 or not base["telephone"]:
            row["telephone"] = base["telephone"]
        elif r < 0.85:
            row["telephone"] = ""
        else:  # a direct line of the same switchboard
            row["telephone"] = base["telephone"][:-4] + f"{rng.randrange(10**4):04d}"
        row["courriels"] = base["courriels"] if rng.random() < 0.5 else ""
        row["horaires"] = base["horaires"] if rng.random() < 0.5 else ""
        row["date_maj"] = (date.fromisoformat(base["date_maj"]) - timedelta(days=rng.randint(0, 400))).isoformat()
        return row

    def rows(self, count: int):
        rng = self.rng
        kept = self.kept
        for n in range(1, count + 1):
            if kept and rng.random() < self.duplicates:
                yield self.duplicate_of(kept.pop(rng.randrange(len(kept))), n)
                continue
            row = self.new_row(n)
            if self.duplicates:
                if len(kept) < 20_000:
                    kept.append(row)
                else:
                    kept[rng.randrange(len(kept))] = row
            yield row


def iter_rows(count: int, *, seed: int = DEMO_SEED, duplicates: float = 0.0, **options):
    return Generator(seed=seed, duplicates=duplicates, **options).rows(count)


def write_rows(rows, out, fmt: str = "csv") -> int:
    """Write rows to an open text file as CSV (the standard's columns) or as a JSON array."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELD_NAMES)
        for row in rows:
            writer.writerow([row[name] for name in FIELD_NAMES])
            count += 1
    elif fmt == "json":
        out.write("[")
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for row in rows:
            out.write(("\n" if count == 0 else ",\n") + dumps(row))
            count += 1
        out.write("\n]\n")
    else:
        raise ValueError(f"Format inconnu : {fmt}")
    return count


# --- loading the demonstration ------------------------------------------------------------------------

def _fingerprint(synthetic: int, seed: int) -> str:
    digest = hashlib.sha256()
    for path in (HINAURA_FILE, GIRONDE_FILE, GIRONDE_MAPPING, COMMUNES_CSV):
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"-")
    digest.update(f"{synthetic}:{seed}:{GENERATOR_VERSION}:{DEMO_DUPLICATES}".encode())
    return digest.hexdigest()


def _marker_path():
    from django.conf import settings
    from django.db import connection

    name = hashlib.sha256(str(connection.settings_dict.get("NAME", "")).encode()).hexdigest()[:12]
    return Path(settings.DATA_DIR) / f"demo-chargee-{name}.json"


def _counts() -> dict[str, int]:
    from django.db.models import Count

    from mednum.lieux.models import SourceRecord

    return dict(SourceRecord.objects.values_list("source").annotate(n=Count("id")).order_by())


def load_demo(*, synthetic: int = DEMO_SYNTHETIC, seed: int = DEMO_SEED, force: bool = False, log=print) -> bool:
    """Load the demonstration data; returns False when it was already loaded with the same files."""
    import tempfile

    from mednum.imports.engine import import_lieux
    from mednum.lieux.dedup import run_dedup

    fingerprint = _fingerprint(synthetic, seed)
    marker = _marker_path()
    if not force and marker.is_file():
        try:
            saved = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        if saved.get("empreinte") == fingerprint and saved.get("enregistrements") == _counts():
            log("Données de démonstration déjà chargées (fichiers inchangés) : rien à faire.")
            return False

    for path, source, mapping in ((HINAURA_FILE, "Hinaura", None), (GIRONDE_FILE, "Gironde", GIRONDE_MAPPING)):
        if not path.is_file():
            log(f"Fichier absent, ignoré : {path}")
            continue
        report = import_lieux(path, source, mapping=mapping)
        log(f"{source} : {report.created} créés, {report.updated} mis à jour, {report.unchanged} inchangés, "
            f"{report.rejected} rejetés.")

    if synthetic > 0:
        generator = Generator(seed=seed, duplicates=DEMO_DUPLICATES, exclude_regions=DEMO_EXCLUDED_REGIONS,
                              exclude_departements=DEMO_EXCLUDED_DEPARTEMENTS, id_prefix="demo-",
                              source_suffix=DEMO_SOURCE_SUFFIX)
        by_source: dict[str, list[dict]] = {}
        for row in generator.rows(synthetic):
            by_source.setdefault(row["source"], []).append(row)
        with tempfile.TemporaryDirectory(prefix="mednum-demo-") as folder:
            for source, rows in sorted(by_source.items()):
                path = Path(folder) / f"{len(by_source)}-{hashlib.md5(source.encode()).hexdigest()[:8]}.csv"
                with path.open("w", encoding="utf-8", newline="") as handle:
                    write_rows(rows, handle)
                report = import_lieux(path, source, demo=True)
                log(f"{source} : {report.created} lieux de démonstration créés, {report.unchanged} inchangés, "
                    f"{report.rejected} rejetés.")

    result = run_dedup()
    log(f"Dédoublonnage : {result.summary()}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"empreinte": fingerprint, "enregistrements": _counts()}, ensure_ascii=False),
                      encoding="utf-8")
    return True
