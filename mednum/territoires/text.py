"""Text helpers shared by the territory loader, the commune search and the administration's searches."""

import re
import unicodedata

from django.db.models import Func, Lookup, TextField

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Search key of a name: lower case, no accents, every run of non-alphanumerics as one space.

    "L'Isle-sur-la-Sorgue" -> "l isle sur la sorgue"; "Saint-Étienne" -> "saint etienne".
    """
    if not text:
        return ""
    if text.isascii():  # the same result, without decomposing (most names, and every code)
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Ligatures common in French names (œ, æ) have no NFKD decomposition.
    without_accents = without_accents.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return _NON_ALNUM.sub(" ", without_accents).strip()


# --- the same key, computed by the database --------------------------------------------------------

# PostgreSQL: the accented letters of French and its neighbours, upper and lower case, and the ordinal
# letters (« 2ᵉ », « 1ʳᵉ », « nº »), each with its bare letter (œ, æ and ß become two letters, below).
# Other letters stay as they are where `normalise` decomposes every Unicode letter: the two agree on
# French names (tests/lieux/test_admin.py checks them on both databases).
_ACCENTUEES = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸᵉʳᵈᵒºª"
_NUES = "aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyyerdooa"
SQLITE_FONCTION = "mednum_cle_texte"


class CleTexte(Func):
    """`normalise(column)` computed by the database, to compare texts without accents, case or
    punctuation (« MÉDIATHÈQUE d'Agen » → « mediatheque d agen »). SQLite: `normalise` itself, as a
    function of each connection (`enregistrer_fonction_sqlite`); PostgreSQL: its equivalent in SQL."""

    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=SQLITE_FONCTION, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        template = (
            "BTRIM(REGEXP_REPLACE(REPLACE(REPLACE(REPLACE(LOWER(TRANSLATE(COALESCE(%(expressions)s, ''), "
            f"'{_ACCENTUEES}', '{_NUES}')), 'œ', 'oe'), 'æ', 'ae'), 'ß', 'ss'), '[^a-z0-9]+', ' ', 'g'))"
        )
        return super().as_sql(compiler, connection, template=template, **extra_context)


def enregistrer_fonction_sqlite(sender, connection, **kwargs) -> None:
    """Give each new SQLite connection the function of `CleTexte` (signal `connection_created`)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FONCTION, 1, normalise, deterministic=True)


# --- a quick first sift for `CleTexte`, on the column as written --------------------------------------

# Letters of a key that the text may hold under another form (accented: é → e, ç → c, ñ → n, ý → y;
# ordinals: ʳ → r): any one character there. « oe », « ae » and « ss » may be one character (œ, æ, ß).
_VARIABLES = str.maketrans({lettre: "_" for lettre in "aceinouyr"})
_LIGATURES = re.compile(r"oe|ae|ss")


def motif_like(cle: str) -> str:
    """A LIKE pattern that the text as written matches whenever its key (`normalise`) holds `cle`:
    « mediatheque » → « %m_d__th_q__% », true for « Médiathèque ». The database checks it in C on every
    row, and computes the key (`CleTexte`) only for the rows it lets through. Not for texts written
    with other compatibility characters (« ﬁ » ligature, accented consonants such as « ž »), which the
    key turns into plain letters, nor for a search that stops in the middle of a « ß » (« stras » in
    « Straße »): such a text is not found by those letters."""
    motif = _LIGATURES.sub("%", cle).translate(_VARIABLES).replace(" ", "%")
    return f"%{motif}%"


class Motif(Lookup):
    """`champ__motif="%m_d%"`: LIKE with the pattern as given (`_` and `%` are wildcards), case
    ignored for ASCII letters (SQLite's LIKE; ILIKE on PostgreSQL)."""

    lookup_name = "motif"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        operateur = "ILIKE" if connection.vendor == "postgresql" else "LIKE"
        return f"{lhs} {operateur} {rhs}", [*lhs_params, *rhs_params]

