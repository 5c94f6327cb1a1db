"""Query parameters that a page or an endpoint does not know: named, with the closest known name.

A misspelt parameter that is silently ignored changes the answer without a word (`service=` instead of
`services=` lists every lieu; `departemnt=33` downloads the whole country): the public API and the
downloads refuse it with these messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

# Cache breakers added by some HTTP clients (`_=1700000000`) pass everywhere.
PREFIXES_ADMIS = ("_",)
# Longer names are shown cut; no close name is looked for (difflib on a 200 KB name takes tens of ms).
LONGUEUR_MONTREE = 80


def inconnus(query: Mapping, connus: Iterable[str], admis: tuple[str, ...] = PREFIXES_ADMIS
             ) -> list[tuple[str, str | None]]:
    """(name as shown, closest known name or None) for each name of `query` not in `connus`."""
    connus = connus if isinstance(connus, frozenset) else frozenset(connus)
    out = []
    for name in query.keys():
        if name in connus or name.startswith(admis):
            continue
        proche = None
        if len(name) <= LONGUEUR_MONTREE:
            proches = difflib.get_close_matches(name.strip().lower(), sorted(connus), n=1, cutoff=0.6)
            proche = proches[0] if proches else None
        out.append((name[:LONGUEUR_MONTREE], proche))
    return out


def message(nom: str, proche: str | None) -> str:
    """« Paramètre inconnu : « service ». Vouliez-vous dire « services » ? »"""
    return f"Paramètre inconnu : « {nom} »." + (f" Vouliez-vous dire « {proche} » ?" if proche else "")


def texte(query: Mapping, noms: Iterable[str], admis: tuple[str, ...] = PREFIXES_ADMIS) -> str:
    """Every unknown parameter's message, then the known names in the order given; "" when none."""
    noms = list(noms)
    trouves = inconnus(query, noms, admis)
    if not trouves:
        return ""
    return " ".join(message(nom, proche) for nom, proche in trouves) + " Paramètres possibles : " + ", ".join(
        f"« {nom} »" for nom in noms) + "."
