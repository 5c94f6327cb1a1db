"""Text helpers shared by the territory loader, the commune search and the administration's searches."""

import re
import unicodedata

from django.db.models import Func, TextField

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


# --- the same key, computed by the database --------------------------------------------------------

# PostgreSQL: the accented letters of French and its neighbours, upper and lower case, and their bare
# letter (œ and æ become two letters, below). Other letters stay as they are; `normalise` in Python
# decomposes every Unicode letter: the two agree on French names.
# Ordinal letters too (« 2ᵉ », « 1ʳᵉ », « nº »), which Unicode decomposes into plain letters.
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
