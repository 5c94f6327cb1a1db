"""The municipal arrondissements of Paris, Lyon and Marseille: where « Paris 15e » or « 13016 » starts.

The communes of the reference data are the INSEE's current communes, so Paris, Lyon and Marseille are
one commune each, with one point (their town hall). A person in the 15th arrondissement who types
« Paris 15e » or « 75015 » expects the lieux near them first, not those around the Hôtel de Ville; in
Marseille the 16th arrondissement is 10 km from the 1st. The 45 arrondissements municipaux
(`data/arrondissements.csv`, built with the communes by `scripts/build_territoires.py`, see
`data/PROVENANCE.md`) give each one its postal codes and a point. The file is read once per process;
it changes only with a new build of the territorial data.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mednum.territoires.text import normalise

DATA_FILE = Path(__file__).resolve().parent / "data" / "arrondissements.csv"

# « paris 15 », « paris 15e », « paris 15 eme », « paris 15eme arrondissement », « marseille 1er »,
# « lyon 3e arr », « 15e arrondissement de paris », « paris xve » (search keys: no accents, lower case).
_ORDINAL = r"(?:e|er|eme|ieme|em|ere|nd)?"
_ARRONDISSEMENT = r"(?:\s+arr(?:ondissement|dt|t)?)?"
_ROMAN = r"[ivxl]{1,6}"
_VILLE_PUIS_NUMERO = re.compile(
    rf"^(?P<ville>paris|lyon|marseille)\s+(?:(?P<n>\d{{1,2}})\s*{_ORDINAL}|(?P<r>{_ROMAN})(?:e|eme|er)){_ARRONDISSEMENT}$"
)
_NUMERO_PUIS_VILLE = re.compile(
    rf"^(?:(?P<n>\d{{1,2}})\s*{_ORDINAL}|(?P<r>{_ROMAN})(?:e|eme|er)){_ARRONDISSEMENT}\s+(?:de\s+|d\s+)?(?P<ville>paris|lyon|marseille)$"
)
_ROMAINS = {"i": 1, "v": 5, "x": 10, "l": 50}
_COMMUNES = {"paris": "75056", "lyon": "69123", "marseille": "13055"}
# A postal code in the text: « 75015 », « Paris 75015 », « Paris 15e Arrondissement (75015) ».
_CODE_POSTAL = re.compile(r"\b(\d{5})\b")


@dataclass(frozen=True)
class Arrondissement:
    code: str  # INSEE code of the arrondissement: 75115
    nom: str  # « Paris 15e Arrondissement »
    commune: str  # INSEE code of its commune: 75056
    numero: int
    codes_postaux: tuple[str, ...]
    latitude: float
    longitude: float
    population: int

    @property
    def libelle(self) -> str:
        """« Paris 15e arrondissement (75015) »: how the search names its starting point."""
        return f"{self.nom.replace(' Arrondissement', ' arrondissement')} ({self.codes_postaux[0]})"


@cache
def tous() -> tuple[Arrondissement, ...]:
    """The 45 arrondissements, in INSEE code order (the file, read once)."""
    with DATA_FILE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    arrondissements = []
    for row in rows:
        code = row["code"]
        arrondissements.append(Arrondissement(
            code=code,
            nom=row["nom"],
            commune=row["commune"],
            # 75101 → 1, 69383 → 3, 13216 → 16: the last two digits of the code, after Lyon's 38.
            numero=int(code[3:]) if code.startswith(("751", "132")) else int(code[4:]),
            codes_postaux=tuple(row["codes_postaux"].split()),
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            population=int(row["population"]),
        ))
    return tuple(arrondissements)


def par_code(code: str) -> Arrondissement | None:
    """The arrondissement of this INSEE code (75115), or None."""
    return next((a for a in tous() if a.code == code), None)


def par_code_postal(code_postal: str) -> Arrondissement | None:
    """The arrondissement of this postal code (75015, 75116, 13001), or None."""
    return next((a for a in tous() if code_postal in a.codes_postaux), None)


def _romain(text: str) -> int | None:
    values = [_ROMAINS[c] for c in text]
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
    return total if 0 < total < 100 else None


def depuis_texte(texte: str) -> Arrondissement | None:
    """The arrondissement a search text names, or None: « Paris 15e », « marseille 1er arrondissement »,
    « 3e arrondissement de Lyon », « Paris XVe », or a postal code of one (« 75015 », « Paris 75015 »,
    « Paris 15e arrondissement (75015) »), alone or after the name of its city."""
    key = normalise(texte)
    if not key:
        return None
    for pattern in (_VILLE_PUIS_NUMERO, _NUMERO_PUIS_VILLE):
        match = pattern.match(key)
        if match:
            numero = int(match.group("n")) if match.group("n") else _romain(match.group("r"))
            commune = _COMMUNES[match.group("ville")]
            return next((a for a in tous() if a.commune == commune and a.numero == numero), None)
    match = _CODE_POSTAL.search(key)
    if match:
        found = par_code_postal(match.group(1))
        if found is None:
            return None
        # The words around the postal code must be the arrondissement's name, its city's, or nothing.
        rest = (key[: match.start()] + " " + key[match.end():]).split()
        ville = normalise(found.nom).split(" ")[0]
        if not rest or rest == [ville] or " ".join(rest) == normalise(found.nom) or depuis_texte(" ".join(rest)) == found:
            return found
    return None
