"""Text folding used to compare values tolerantly (enumerations, commune names, mapping terms).

`fold("Étapes numériques(La Poste)") == fold("etapes numeriques (la poste)") == "etapes numeriques la poste"`.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
# Typographic apostrophes and quotes found in office documents, folded to the ASCII ones.
_QUOTES = (("’", "'"), ("‘", "'"), ("ʼ", "'"), ("´", "'"), ("`", "'"), ("«", '"'), ("»", '"'), ("“", '"'), ("”", '"'))
_LIGATURES = (("œ", "oe"), ("æ", "ae"), ("ß", "ss"))
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Characters removed from every imported or edited value: the C0 control characters except tab, line
# feed and carriage return, DEL and the C1 block; and the invisible format characters that make two equal
# texts differ (zero-width space, word joiner, byte order mark, soft hyphen) or show a text in another
# order than it is written (bidirectional marks, embeddings, overrides and isolates, as in « U+202E »
# tricks). The zero-width joiner and non-joiner stay: some scripts and emoji need them.
CONTROL_CHARS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u2069\ufeff]"
)


def composed(text: str) -> str:
    """`text` with its accents composed (« é », not « e » + combining accent, as macOS may write it):
    the form in which mednum compares column names."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def strip_accents(text: str) -> str:
    """Lower case without diacritics; œ/æ/ß spelled out (they have no decomposition).

    Other characters (€, ø, emoji…) are kept as they are.
    """
    text = text.lower()
    if text.isascii():
        return text
    for ligature, spelled in _LIGATURES:
        if ligature in text:
            text = text.replace(ligature, spelled)
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def fold(text: str) -> str:
    """Comparison key: lower case, no accents, every run of non-alphanumerics as one space."""
    if not text:
        return ""
    return _NON_ALNUM.sub(" ", strip_accents(text)).strip()


def fold_phrase(text: str) -> str:
    """Like `fold` but keeps punctuation (for matching phrases inside free text).

    Lower case, no accents, typographic apostrophes as `'`, every run of white space as one space.
    """
    if not text:
        return ""
    if not text.isascii():
        for quote, ascii_quote in _QUOTES:
            if quote in text:
                text = text.replace(quote, ascii_quote)
    return _SPACES.sub(" ", strip_accents(text)).strip()
