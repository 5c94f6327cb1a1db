"""Labelled pairs of lieux (same place or not) and the precision/recall of mednum's deduplication.

    python bench/dedup_quality.py               # score the labelled set, print precision and recall
    python bench/dedup_quality.py --write       # (re)generate tests/lieux/fixtures/dedup_pairs.csv
    python bench/dedup_quality.py --errors      # also list the pairs the scoring gets wrong

The set is built deterministically (seeded) from the two real source files shipped for the demo
(mednum/lieux/data/demo: Hinaura, 687 lieux in Auvergne-Rhône-Alpes; Gironde, 347 lieux):

- real pairs: every pair of lieux of one file lying within 300 m of each other, labelled by hand
  (`REAL_SAME` lists the ones that are the same place, `REAL_AMBIGUOUS` the ones left out because
  even a person cannot tell from the data); all the others are distinct places that happen to be
  neighbours (a médiathèque and the youth information office in one building, two associations
  at one address…);
- the same place as a second source would publish it: the name rewritten (capitals, accents lost,
  "municipale" added, commune added or dropped, abbreviations such as CCAS / EPN / St, MSAP renamed
  France Services, a typo, a suffix dropped), the address rewritten (12 bis / 12B, r. / av. / bd,
  capitals, a typo, postal code appended, number missing), the position moved 10-150 m or missing,
  SIRET, phone and e-mail present on one side only, equal, or different;
- hard negatives: town hall and library of one commune in one building (sometimes sharing the
  town hall's phone and SIRET), France Services and CCAS at one address, the same network in two
  neighbouring communes (same generic name), two branches of one network in one town, two
  associations in one "maison des associations";
- hard positives: a generic name against a specific one at one address ("Médiathèque de X" /
  "Médiathèque Jean Moulin"), a Maison de services au public that became France Services.

Prints `dedup_precision: X` and `dedup_recall: Y` for the automatic threshold (pairs predicted
"same" = candidate pair and score ≥ threshold, the rule `dedup_lieux` applies).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mednum.lieux import demo  # noqa: E402  (no Django needed: the perturbations are plain Python)

DEMO_DIR = ROOT / "mednum" / "lieux" / "data" / "demo"
COMMUNES_CSV = ROOT / "mednum" / "territoires" / "data" / "communes.csv.gz"
FIXTURE = ROOT / "tests" / "lieux" / "fixtures" / "dedup_pairs.csv"
SEED = 20240725
FIELDS = ("source", "nom", "adresse", "code_postal", "commune", "code_insee", "latitude", "longitude",
          "pivot", "telephone", "courriels")
COLUMNS = ["pair", "kind", "label"] + [f"a_{f}" for f in FIELDS] + [f"b_{f}" for f in FIELDS]

# Pairs of real records (within 300 m, same file) that describe one place.
REAL_SAME = {
    ("h124", "h895"), ("h166", "h473"), ("h653", "h654"), ("h466", "h1020"), ("h776", "h826"),
    ("h870", "h915"), ("h882", "h958"), ("h944", "h948"), ("h993", "h1029"), ("h999", "h1011"),
    ("h1027", "h1035"), ("h1042", "h1043"), ("h1063", "h1064"), ("g161", "g235"), ("g31", "g52"),
}
# Pairs a person cannot decide from the data (a cyber-space inside a médiathèque with its own
# phone, a community of communes and the France Services it runs at one address…): left out.
REAL_AMBIGUOUS = {
    ("h20", "h21"), ("g174", "g303"), ("g111", "g162"), ("g145", "g274"), ("g118", "g194"),
    ("g201", "g210"), ("h765", "h880"), ("h828", "h880"), ("h765", "h828"), ("h18", "h160"),
    ("h979", "h1060"), ("g147", "g237"), ("h199", "h441"), ("g68", "g270"),
}
OTHER_SOURCES = ["Coop numérique", "Dora", "France Services", "Conseillers numériques", "Département", "Hub régional"]
PEOPLE = ["Jean Moulin", "Victor Hugo", "Louise Michel", "Simone Veil", "Aimé Césaire", "Jules Verne",
          "Émile Zola", "Albert Camus", "George Sand", "Marguerite Yourcenar", "Jacques Prévert", "Colette",
          "Louis Aragon", "Elsa Triolet", "Pablo Neruda", "Nelson Mandela", "Jean Jaurès", "Marie Curie",
          "Boris Vian", "Saint-Exupéry", "Paul Éluard", "Olympe de Gouges", "Rosa Parks", "Gisèle Halimi",
          "Jean de La Fontaine", "Molière", "Voltaire", "François Rabelais", "Lucie Aubrac", "Joséphine Baker"]
QUARTERS = ["Nord", "Sud", "Est", "Ouest", "Centre", "des Coteaux", "du Lac", "de la Gare", "du Port", "des Pins"]
ASSOCIATIONS = ["Les Amis du Numérique", "Clic et Vous", "Solidarité Connectée", "Le Fil d'Ariane",
                "Cyber Seniors", "Rebonds", "Ordi Solidaire", "Les Petits Débrouillards", "Lire et Écrire",
                "Familles Rurales", "Secours populaire", "Accueil et Partage"]


# --- real records ---------------------------------------------------------------------------------

def _phone(value) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    if digits.startswith("33") and len(digits) == 11:
        return "+" + digits
    if len(digits) == 10 and digits.startswith("0"):
        return "+33" + digits[1:]
    return ""


def _coord(value) -> str:
    if value in (None, ""):
        return ""
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def _commune_index():
    from mednum.standard.communes import CommuneIndex

    rows = []
    if COMMUNES_CSV.is_file():
        with gzip.open(COMMUNES_CSV, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({"code": row["code"], "nom": row["nom"],
                             "codes_postaux": [c for c in re.split(r"[| ]", row["codes_postaux"]) if c]})
    return CommuneIndex.from_records(rows)


def real_records() -> dict[str, dict]:
    """Both demo files as standard-like records keyed h<id> / g<index>."""
    index = _commune_index()
    records = {}
    for item in json.loads((DEMO_DIR / "hinaura-v0.1.json").read_text(encoding="utf-8")):
        pivot = item.get("pivot") or ""
        records[f"h{item['id']}"] = {
            "source": "Hinaura", "nom": item["nom"], "adresse": item.get("adresse", ""),
            "code_postal": item.get("code_postal", ""), "commune": item.get("commune", ""),
            "latitude": _coord(item.get("latitude")), "longitude": _coord(item.get("longitude")),
            "pivot": "" if set(pivot) <= {"0"} else pivot, "telephone": _phone(item.get("telephone")),
            "courriels": (item.get("courriel") or "").strip().lower(),
        }
    for n, item in enumerate(json.loads((DEMO_DIR / "gironde-raw.json").read_text(encoding="utf-8"))):
        adresse = item.get("Adresse postale", "")
        match = re.search(r"\b(33\d{3})\b", adresse)
        code_postal = match.group(1) if match else ""
        if match:
            adresse = adresse[: match.start()].rstrip(" ,-–")
        records[f"g{n}"] = {
            "source": "Gironde", "nom": re.sub(r"\s+", " ", item["Lieu"]).strip(), "adresse": adresse,
            "code_postal": code_postal, "commune": item.get("Commune", ""),
            "latitude": _coord(item.get("Coord. X")), "longitude": _coord(item.get("Coord. Y")),
            "pivot": "", "telephone": _phone(item.get("Téléphone")),
            "courriels": (item.get("Email") or "").strip().lower(),
        }
    for record in records.values():
        info = index.resolve(code_insee="", code_postal=record["code_postal"], nom=record["commune"]) if len(index) else None
        record["code_insee"] = info.code if info else ""
    return records


def _distance(a: dict, b: dict) -> float:
    if not (a["latitude"] and b["latitude"]):
        return math.inf
    lat1, lon1, lat2, lon2 = map(float, (a["latitude"], a["longitude"], b["latitude"], b["longitude"]))
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6_371_000 * math.hypot(x, math.radians(lat2 - lat1))


def _key(ref: str):
    return (ref[0], int(ref[1:]))


# --- perturbations ----------------------------------------------------------------------------------

def moved(rng: random.Random, record: dict, low: float, high: float) -> tuple[str, str]:
    return demo.moved(rng, record["latitude"], record["longitude"], low, high)


def _siret(rng: random.Random, siren: str | None = None) -> str:
    siren = siren or f"{rng.randint(1, 9)}{rng.randrange(10**8):08d}"
    return siren + f"{rng.randrange(10**5):05d}"


def _phone_number(rng: random.Random, base: str = "") -> str:
    prefix = base[:6] if base else "+33" + rng.choice("12345")
    return prefix + "".join(str(rng.randrange(10)) for _ in range(12 - len(prefix)))


def second_source(rng: random.Random, record: dict) -> dict:
    """The same place as another source would describe it."""
    other = dict(record)
    other["source"] = rng.choice(OTHER_SOURCES)
    other["nom"] = demo.name_variant(rng, record["nom"], record["commune"])
    if rng.random() < 0.8:
        other["adresse"] = demo.address_variant(rng, record["adresse"], record["code_postal"], record["commune"])
    r = rng.random()
    if r < 0.1:
        other["latitude"] = other["longitude"] = ""
    elif r < 0.95:
        other["latitude"], other["longitude"] = moved(rng, record, 5, 80)
    else:
        other["latitude"], other["longitude"] = moved(rng, record, 80, 150)
    if rng.random() < 0.25:
        other["commune"] = record["commune"].upper()
    r = rng.random()
    if r < 0.15:
        other["pivot"] = record["pivot"] = record["pivot"] or _siret(rng)
    elif r < 0.35:
        other["pivot"] = _siret(rng)  # one source knows the SIRET, the other does not
    else:
        other["pivot"] = ""
    r = rng.random()
    other["telephone"] = record["telephone"] if r < 0.6 else ("" if r < 0.85 else _phone_number(rng, record["telephone"]))
    r = rng.random()
    other["courriels"] = record["courriels"] if r < 0.4 else ("" if r < 0.8 else "contact@" + rng.choice(["ville", "asso", "mairie"]) + ".fr")
    return other


# --- the set --------------------------------------------------------------------------------------

def _row(n: int, kind: str, label: str, a: dict, b: dict) -> dict:
    row = {"pair": f"p{n:04d}", "kind": kind, "label": label}
    for f in FIELDS:
        row[f"a_{f}"] = a.get(f, "")
        row[f"b_{f}"] = b.get(f, "")
    return row


def build_pairs(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    records = real_records()
    refs = sorted(records, key=_key)
    placed = [r for r in refs if records[r]["latitude"]]
    rows: list[tuple[str, str, dict, dict]] = []

    # 1. Real neighbours (same file, within 300 m), labelled by hand.
    for i, ra in enumerate(placed):
        a = records[ra]
        for rb in placed[i + 1:]:
            b = records[rb]
            if a["source"] != b["source"] or abs(float(a["latitude"]) - float(b["latitude"])) > 0.003:
                continue
            if _distance(a, b) <= 300:
                pair = (ra, rb)
                if pair in REAL_AMBIGUOUS:
                    continue
                rows.append(("reel", "same" if pair in REAL_SAME else "different", a, b))

    # 2. The same place described by a second source.
    for ref in rng.sample(refs, 260):
        base = dict(records[ref])
        rows.append(("seconde_source", "same", base, second_source(rng, base)))

    def anchor():
        return dict(records[rng.choice(placed)])

    def commune_name(record):
        return record["commune"].title() if record["commune"].isupper() else record["commune"]

    # 3. Hard positives.
    for _ in range(40):  # generic name against a specific one
        base = anchor()
        c = commune_name(base)
        person = rng.choice(PEOPLE)
        a = dict(base, nom=f"Médiathèque {person}", source=base["source"])
        b = dict(base, nom=rng.choice([f"Médiathèque de {c}", "Médiathèque municipale", f"Bibliothèque municipale de {c}"]),
                 source=rng.choice(OTHER_SOURCES), pivot="", courriels="")
        b["latitude"], b["longitude"] = moved(rng, base, 0, 40)
        b["telephone"] = base["telephone"] if rng.random() < 0.5 else ""
        rows.append(("generique_specifique", "same", a, b))
    for _ in range(30):  # MSAP renamed France Services
        base = anchor()
        c = commune_name(base)
        a = dict(base, nom=rng.choice([f"Maison de services au public de {c}", f"MSAP {c}", f"Maison des services au public {c}"]))
        b = dict(base, nom=rng.choice([f"France Services {c}", f"Espace France Services de {c}", f"Maison France Services - {c}"]),
                 source="France Services")
        b["adresse"] = demo.address_variant(rng, base["adresse"], base["code_postal"], base["commune"])
        b["latitude"], b["longitude"] = moved(rng, base, 0, 60)
        rows.append(("msap_france_services", "same", a, b))

    # 4. Hard negatives.
    for _ in range(60):  # town hall and library in one building
        base = anchor()
        c = commune_name(base)
        siren = f"2{rng.randrange(10**8):08d}"
        a = dict(base, nom=rng.choice([f"Mairie de {c}", f"Hôtel de ville de {c}", f"Mairie {c}"]),
                 pivot=_siret(rng, siren) if rng.random() < 0.5 else "")
        b = dict(base, nom=rng.choice([f"Médiathèque de {c}", f"Bibliothèque municipale de {c}",
                                       f"Médiathèque {rng.choice(PEOPLE)}", f"Espace numérique de la médiathèque de {c}"]),
                 source=rng.choice(OTHER_SOURCES))
        b["latitude"], b["longitude"] = moved(rng, base, 3, 60)
        b["telephone"] = a["telephone"] if rng.random() < 0.3 else _phone_number(rng, a["telephone"])
        b["pivot"] = (a["pivot"] or _siret(rng, siren)) if rng.random() < 0.3 else ""
        b["courriels"] = "" if rng.random() < 0.5 else f"mediatheque@{c.lower().replace(' ', '-')}.fr"
        rows.append(("mairie_mediatheque", "different", a, b))
    for _ in range(40):  # France Services and CCAS at one address
        base = anchor()
        c = commune_name(base)
        a = dict(base, nom=rng.choice([f"Espace France Services de {c}", f"France Services {c}"]), source="France Services")
        b = dict(base, nom=rng.choice([f"CCAS de {c}", f"Centre communal d'action sociale de {c}", "CCAS"]),
                 source=rng.choice(OTHER_SOURCES))
        b["latitude"], b["longitude"] = moved(rng, base, 0, 30)
        b["telephone"] = _phone_number(rng, a["telephone"])
        rows.append(("france_services_ccas", "different", a, b))
    neighbours = []
    for ref in placed:
        a = records[ref]
        close = [r for r in placed if records[r]["commune"].lower() != a["commune"].lower()
                 and 1000 < _distance(a, records[r]) < 12000]
        if close:
            neighbours.append((ref, close))
    for _ in range(45):  # one network in two neighbouring communes
        ref, close = rng.choice(neighbours)
        a, b = dict(records[ref]), dict(records[rng.choice(close)])
        template = rng.choice(["Espace France Services de {c}", "Médiathèque municipale", "Mission locale - antenne de {c}",
                               "Point numérique CAF", "Centre social", "Emmaüs Connect {c}"])
        a["nom"] = template.format(c=commune_name(a))
        b["nom"] = template.format(c=commune_name(b))
        b["source"] = rng.choice(OTHER_SOURCES)
        if rng.random() < 0.3:
            b["telephone"] = a["telephone"]  # a network's central number
        if rng.random() < 0.3:
            b["courriels"] = a["courriels"]
        rows.append(("reseau_communes_voisines", "different", a, b))
    for _ in range(40):  # two branches of one network in one town
        base = anchor()
        kind = rng.choice(["Centre social {q}", "Médiathèque {p}", "Maison de quartier {q}", "Mission locale - antenne {q}"])
        q1, q2 = rng.sample(QUARTERS, 2)
        p1, p2 = rng.sample(PEOPLE, 2)
        a = dict(base, nom=kind.format(q=q1, p=p1))
        b = dict(base, nom=kind.format(q=q2, p=p2), source=rng.choice(OTHER_SOURCES))
        b["latitude"], b["longitude"] = moved(rng, base, 150, 1500)
        b["adresse"] = f"{rng.randint(1, 120)} {rng.choice(['rue', 'avenue', 'place'])} {rng.choice(PEOPLE)}"
        b["telephone"] = a["telephone"] if rng.random() < 0.3 else _phone_number(rng, a["telephone"])
        b["courriels"] = a["courriels"] if rng.random() < 0.2 else ""
        rows.append(("antennes_meme_ville", "different", a, b))
    for _ in range(30):  # two associations in one "maison des associations"
        base = anchor()
        n1, n2 = rng.sample(ASSOCIATIONS, 2)
        a = dict(base, nom=rng.choice(["Association ", ""]) + n1, pivot=f"W{rng.randrange(10**9):09d}" if rng.random() < 0.4 else "")
        b = dict(base, nom=rng.choice(["Association ", ""]) + n2, source=rng.choice(OTHER_SOURCES),
                 pivot=f"W{rng.randrange(10**9):09d}" if rng.random() < 0.4 else "")
        b["latitude"], b["longitude"] = moved(rng, base, 0, 25)
        b["telephone"] = _phone_number(rng)
        b["courriels"] = ""
        rows.append(("associations_meme_adresse", "different", a, b))

    return [_row(n, kind, label, a, b) for n, (kind, label, a, b) in enumerate(rows, 1)]


def write_pairs(rows: list[dict], path: Path = FIXTURE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_pairs(path: Path = FIXTURE) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- evaluation -----------------------------------------------------------------------------------

def evaluate(rows: list[dict], threshold: float | None = None) -> dict:
    from mednum.lieux import dedup

    threshold = dedup.THRESHOLD_AUTO if threshold is None else threshold
    tp = fp = fn = tn = 0
    errors = []
    for row in rows:
        a = dedup.features_from_values({f: row[f"a_{f}"] for f in FIELDS}, pk=1, sources={row["a_source"]})
        b = dedup.features_from_values({f: row[f"b_{f}"] for f in FIELDS}, pk=2, sources={row["b_source"]})
        predicted = dedup.predict_same(a, b, threshold)
        actual = row["label"] == "same"
        if predicted and actual:
            tp += 1
        elif predicted:
            fp += 1
            errors.append(("faux positif", row, dedup.score_pair(a, b)))
        elif actual:
            fn += 1
            errors.append(("faux négatif", row, dedup.score_pair(a, b)))
        else:
            tn += 1
    return {
        "pairs": len(rows), "same": tp + fn, "different": fp + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
        "errors": errors,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="regenerate the labelled set (fixture CSV)")
    parser.add_argument("--threshold", type=float, default=None, help="automatic threshold (default: dedup's)")
    parser.add_argument("--errors", action="store_true", help="list misclassified pairs")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mednum.settings")
    import django

    django.setup()
    if args.write or not FIXTURE.is_file():
        rows = build_pairs(args.seed)
        write_pairs(rows)
        print(f"{len(rows)} paires écrites dans {FIXTURE.relative_to(ROOT)}")
    rows = read_pairs()
    result = evaluate(rows, args.threshold)
    if args.errors:
        for what, row, score in result["errors"]:
            print(f"{what} [{row['kind']}] {score.total:.3f} {score.details}\n   A: {row['a_nom']} | {row['a_adresse']}"
                  f" | {row['a_commune']}\n   B: {row['b_nom']} | {row['b_adresse']} | {row['b_commune']}")
    print(f"dedup_pairs: {result['pairs']} ({result['same']} same, {result['different']} different)")
    print(f"dedup_precision: {result['precision']:.3f}")
    print(f"dedup_recall: {result['recall']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
