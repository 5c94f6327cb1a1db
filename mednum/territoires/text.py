"""Text helpers shared by the territory loader and the commune search."""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Search key of a name: lower case, no accents, every run of non-alphanumerics as one space.

    "L'Isle-sur-la-Sorgue" -> "l isle sur la sorgue"; "Saint-Étienne" -> "saint etienne".
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Ligatures common in French names (œ, æ) have no NFKD decomposition.
    without_accents = without_accents.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return _NON_ALNUM.sub(" ", without_accents).strip()
