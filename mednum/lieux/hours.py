"""Opening hours of lieux (`horaires`, OpenStreetMap opening_hours syntax), read with opening-hours-py.

Everything here is safe to call from a page or the API: an empty string means "non renseignés", an
invalid string is returned as given with `valide=False`, nothing raises.

* `state_at(horaires, dt)` → open / closed / unknown now, the next change and a French label
  ("Ouvert · ferme à 18:00", "Fermé · ouvre lundi à 09:00");
* `semaine(horaires)` → the week from Monday to Sunday, with intervals per day or "Fermé";
* `est_ouvert(horaires, dt)` and `ouvert_le_week_end(horaires)` for the search filters (cached by string,
  the first until the hours next change);
* `horaires_invalides()` / `invalid_hours_queryset()` list what moderators must fix.

Public holidays are French (`country="FR"`: without it `PH off` would be ignored). Times are local: Europe/
Paris by default, the overseas time zone for lieux in the DROM-COM (`fuseau_pour_code_insee`).

"Ouvert le week-end" is computed when needed, on search candidates only, and cached per distinct string
and week: there is no stored column to keep in step with imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State

FUSEAU_PAR_DEFAUT = "Europe/Paris"
PAYS = "FR"
# Changes further than this are treated as "never" (keeps odd expressions cheap to evaluate).
MAX_INTERVAL_DAYS = 400

JOURS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MOIS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)

OUVERT = "ouvert"
FERME = "ferme"
INCONNU = "inconnu"

# INSEE code prefix of overseas départements and collectivités → their time zone.
_FUSEAUX_OUTRE_MER = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "975": "America/Miquelon",
    "976": "Indian/Mayotte",
    "977": "America/St_Barthelemy",
    "978": "America/Marigot",
    "986": "Pacific/Wallis",
    "987": "Pacific/Tahiti",
    "988": "Pacific/Noumea",
}


def fuseau_pour_code_insee(code_insee: str | None) -> str:
    """Time zone of a commune from its INSEE code (Europe/Paris for metropolitan France and unknown codes)."""
    if code_insee and code_insee[:2] in ("97", "98"):
        return _FUSEAUX_OUTRE_MER.get(code_insee[:3], FUSEAU_PAR_DEFAUT)
    return FUSEAU_PAR_DEFAUT


@lru_cache(maxsize=32)
def _zone(fuseau: str) -> ZoneInfo:
    return ZoneInfo(fuseau)


class _Invalide:
    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


# A rule whose only modifier is a comment and which gives no hours (« "sur rendez-vous" »,
# « Sa "sur rendez-vous" », « Mo-Fr 09:00-12:00 || "sur rendez-vous" »): the OSM specification gives it
# the state « unknown »; opening-hours-py reads it as open at every hour of its days, so that « ouvert
# maintenant » listed such a lieu on Saturday or Sunday at 3 a.m. It is given the keyword `unknown`. A
# rule with hours and a comment (« Mo 10:00-12:00 "sur rendez-vous" ») stays open during its hours.
_RULE_SEPARATOR = re.compile(r'"[^"]*"|;|\|\||,(?=\s)')
_COMMENT_AT_END = re.compile(r'"[^"]*"\s*$')
_GIVES_HOURS_OR_STATE = re.compile(
    r"\d{1,2}:\d{2}|24/7|\b(?:sunrise|sunset|dawn|dusk|open|closed|off|unknown)\b", re.IGNORECASE
)


def _comment_rules_unknown(texte: str) -> str:
    pieces: list[str] = []
    debut = 0
    for match in _RULE_SEPARATOR.finditer(texte):
        if match.group().startswith('"'):
            continue
        pieces.append(_comment_rule_unknown(texte[debut:match.start()]) + match.group())
        debut = match.end()
    pieces.append(_comment_rule_unknown(texte[debut:]))
    return "".join(pieces)


def _comment_rule_unknown(regle: str) -> str:
    comment = _COMMENT_AT_END.search(regle)
    if comment is None or _GIVES_HOURS_OR_STATE.search(regle[: comment.start()]):
        return regle
    return regle[: comment.start()] + "unknown " + regle[comment.start():]


# Days that no year has: opening-hours-py accepts « Feb 30 » and then reads the rule as every day.
_IMPOSSIBLE_DAY = re.compile(r"\b(?:Feb\s*(?:3[0-9])|(?:Apr|Jun|Sep|Nov)\s*31|[A-Z][a-z]{2}\s*(?:3[2-9]|[4-9][0-9]))\b")


# Longer strings are not read: their evaluation costs ~17 µs a character (a page of 120 lieux whose
# hours were 9,800 characters long took 15 s to answer). OpenStreetMap limits a tag to 255 characters;
# the longest hours of the real sources have 138.
LONGUEUR_MAX = 300


@lru_cache(maxsize=16384)
def _parse(texte: str, fuseau: str) -> OpeningHours | _Invalide | None:
    if not texte:
        return None
    if len(texte) > LONGUEUR_MAX:
        return _Invalide(f"Horaires trop longs pour être lus ({len(texte)} caractères, au plus {LONGUEUR_MAX}).")
    impossible = _IMPOSSIBLE_DAY.search(texte)
    if impossible:
        return _Invalide(f"Date qui n'existe pas dans les horaires (« {impossible.group()} »).")
    if '"' in texte:
        texte = _comment_rules_unknown(texte)
    try:
        return OpeningHours(texte, timezone=_zone(fuseau), country=PAYS, max_interval_days=MAX_INTERVAL_DAYS)
    except ParserError as exc:
        return _Invalide(_message_erreur(str(exc)))
    except Exception as exc:  # noqa: BLE001 - a bad string must never break a page
        return _Invalide(f"Horaires illisibles ({exc.__class__.__name__}).")


def _message_erreur(raw: str) -> str:
    match = re.search(r"-->\s*(\d+):(\d+)", raw)
    where = f" (vers le caractère {match.group(2)})" if match else ""
    return f"Syntaxe d'horaires OpenStreetMap non reconnue{where}."


def _normalise(horaires: str | None) -> str:
    return (horaires or "").strip()


def parse(horaires: str | None, fuseau: str = FUSEAU_PAR_DEFAUT) -> OpeningHours | None:
    """The parsed expression, or None for an empty or invalid string (cached by string)."""
    parsed = _parse(_normalise(horaires), fuseau)
    return parsed if isinstance(parsed, OpeningHours) else None


def est_valide(horaires: str | None) -> bool:
    """True for a parsable or empty string; False only for a string that cannot be read."""
    return not isinstance(_parse(_normalise(horaires), FUSEAU_PAR_DEFAUT), _Invalide)


def erreur(horaires: str | None) -> str | None:
    """French explanation of why a string cannot be read, or None when it can (or is empty)."""
    parsed = _parse(_normalise(horaires), FUSEAU_PAR_DEFAUT)
    return parsed.message if isinstance(parsed, _Invalide) else None


# opening-hours-py 2.1 evaluates a fallback rule (« Mo-Fr 09:00-12:00 || "sur rendez-vous" ») right at
# any given moment (`state`), but over a range of several days `intervals` and `next_change` carry the
# first day's last state to the end: the week table showed « sur rendez-vous » every day, and the next
# opening was never found. Read one day at a time, such expressions agree with `state` at every moment
# (tests/lieux/test_hours.py); the others are read in one go as before.
FALLBACK_HORIZON_DAYS = 14  # how far `_prochain_changement` looks for the next change


def _intervalles(parsed: OpeningHours, texte: str, debut: datetime, fin: datetime) -> Iterator[tuple]:
    """`parsed.intervals(debut, fin)`, read day by day for an expression with « || »; touching pieces
    with the same state and comment are joined (an opening past midnight stays one piece). Lazy: a
    caller that stops early (the next change, an opening at the week-end) reads only the days it needs."""
    if "||" not in texte:
        yield from parsed.intervals(debut, fin)
        return
    piece = None
    jour = debut
    while jour < fin:
        lendemain = min(fin, datetime.combine(jour.date() + timedelta(days=1), time(0, 0), jour.tzinfo))
        for start, end, state, commentaire in parsed.intervals(jour, lendemain):
            if piece is not None and piece[1] == start and piece[2:] == (state, commentaire):
                piece = (piece[0], end, state, commentaire)
            else:
                if piece is not None:
                    yield piece
                piece = (start, end, state, commentaire)
        jour = lendemain
    if piece is not None:
        yield piece


def _prochain_changement(parsed: OpeningHours, texte: str, maintenant: datetime) -> datetime | None:
    """`parsed.next_change(maintenant)`, found from `_intervalles` for an expression with « || »."""
    if "||" not in texte:
        return parsed.next_change(maintenant)
    horizon = maintenant + timedelta(days=FALLBACK_HORIZON_DAYS)
    for _start, end, _state, _commentaire in _intervalles(parsed, texte, maintenant, horizon):
        return end if end is not None and end < horizon else None
    return None


def _local(dt: datetime | None, fuseau: str) -> datetime:
    zone = _zone(fuseau)
    if dt is None:
        return datetime.now(zone)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=zone)
    return dt.astimezone(zone)


# --- state now -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EtatHoraires:
    etat: str  # "ouvert", "ferme" or "inconnu"
    libelle: str  # French label for people
    texte: str  # the string as given
    valide: bool = True  # False when the string cannot be read (then etat is "inconnu")
    prochain_changement: datetime | None = None
    commentaire: str = ""

    @property
    def ouvert(self) -> bool | None:
        return {OUVERT: True, FERME: False}.get(self.etat)


def _hhmm(dt: datetime) -> str:
    return f"{dt.hour:02d}:{dt.minute:02d}"


def quand(moment: datetime, maintenant: datetime) -> str:
    """"à 18:00", "demain à 09:00", "lundi à 09:00" (within the week) or "le 3 août à 09:00"."""
    jours = (moment.date() - maintenant.date()).days
    if moment.hour == 0 and moment.minute == 0 and jours >= 1:
        # Midnight ending a day reads better as "à minuit" the day before.
        veille = jours - 1
        if veille == 0:
            return "à minuit"
        moment_jour = moment - timedelta(days=1)
        prefixe = "demain" if veille == 1 else (JOURS[moment_jour.weekday()] if veille < 7 else _date_fr(moment_jour))
        return f"{prefixe} à minuit"
    heure = _hhmm(moment)
    if jours <= 0:
        return f"à {heure}"
    if jours == 1:
        return f"demain à {heure}"
    if jours < 7:
        return f"{JOURS[moment.weekday()]} à {heure}"
    return f"{_date_fr(moment)} à {heure}"


def _date_fr(moment: datetime | date) -> str:
    jour = "1er" if moment.day == 1 else str(moment.day)
    return f"le {jour} {MOIS[moment.month - 1]}"


def state_at(horaires: str | None, dt: datetime | None = None, *, fuseau: str = FUSEAU_PAR_DEFAUT) -> EtatHoraires:
    """Open, closed or unknown at `dt` (default: now), with the next change and a French label."""
    texte = _normalise(horaires)
    parsed = _parse(texte, fuseau)
    if parsed is None:
        return EtatHoraires(INCONNU, "Horaires non renseignés", texte)
    if isinstance(parsed, _Invalide):
        return EtatHoraires(INCONNU, "Horaires à vérifier", horaires or "", valide=False)
    maintenant = _local(dt, fuseau)
    try:
        state, commentaire = parsed.state(maintenant)
        prochain = _prochain_changement(parsed, texte, maintenant)
    except Exception:  # noqa: BLE001 - evaluation errors are reported like unreadable strings
        return EtatHoraires(INCONNU, "Horaires à vérifier", horaires or "", valide=False)
    commentaire = (commentaire or "").strip()
    suffixe = f" ({commentaire})" if commentaire else ""
    if state == State.OPEN:
        if prochain is None:
            libelle = "Ouvert 24 h/24" if texte.replace(" ", "") == "24/7" else "Ouvert"
        else:
            libelle = f"Ouvert · ferme {quand(prochain, maintenant)}"
        return EtatHoraires(OUVERT, libelle + suffixe, texte, True, prochain, commentaire)
    if state == State.CLOSED:
        libelle = "Fermé" if prochain is None else f"Fermé · ouvre {quand(prochain, maintenant)}"
        return EtatHoraires(FERME, libelle + suffixe, texte, True, prochain, commentaire)
    libelle = commentaire[:1].upper() + commentaire[1:] if commentaire else "Horaires non précisés"
    return EtatHoraires(INCONNU, libelle, texte, True, prochain, commentaire)


def etat_bref(horaires: str | None, dt: datetime | None = None, *, fuseau: str = FUSEAU_PAR_DEFAUT) -> tuple[str, str, bool]:
    """(etat, libelle, valide) of `state_at`, cached per string and minute (for lists of results)."""
    instant = dt if dt is not None else datetime.now(_zone(fuseau))
    return etat_bref_minute(_normalise(horaires), fuseau, minute_of(instant))


def minute_of(dt: datetime) -> int:
    """Minutes since the epoch (a cheap cache key: hashing an aware datetime asks its zone each time)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_zone(FUSEAU_PAR_DEFAUT))
    return int(dt.timestamp()) // 60


@lru_cache(maxsize=32768)
def etat_bref_minute(texte: str, fuseau: str, minute: int) -> tuple[str, str, bool]:
    """`etat_bref` for a normalised string and a minute given by `minute_of`."""
    if not texte:
        return INCONNU, "Horaires non renseignés", True
    moment = datetime.fromtimestamp(minute * 60, _zone(fuseau))
    etat = state_at(texte, moment, fuseau=fuseau)
    return etat.etat, etat.libelle, etat.valide


_OUVERTS: dict[tuple[str, str], tuple[int, int, bool]] = {}  # (texte, fuseau) → (from, until, open)
_OUVERTS_MAX = 50_000


def est_ouvert(horaires: str | None, dt: datetime | None = None, *, fuseau: str = FUSEAU_PAR_DEFAUT) -> bool:
    """True only when the lieu is known to be open at `dt` (empty, invalid or unknown → False).

    The answer is remembered until the hours change state (their next opening or closing, in minutes
    since the epoch): the search filters ask about the same strings minute after minute, and most
    answers are read back — a lieu closed at night stays closed until the morning."""
    texte = _normalise(horaires)
    if not texte:
        return False
    maintenant = _local(dt, fuseau).replace(second=0, microsecond=0)
    minute = minute_of(maintenant)
    key = (texte, fuseau)
    known = _OUVERTS.get(key)
    if known is not None and known[0] <= minute < known[1]:
        return known[2]
    parsed = _parse(texte, fuseau)
    if not isinstance(parsed, OpeningHours):  # unreadable: never known to be open
        answer, debut, fin = False, -(2**62), 2**62
    else:
        try:
            answer = bool(parsed.is_open(maintenant))
            prochain = _prochain_changement(parsed, texte, maintenant)
        except Exception:  # noqa: BLE001 - not known to be open; asked again next minute
            answer, prochain = False, maintenant + timedelta(minutes=1)
        debut, fin = minute, (minute_of(prochain) if prochain is not None else 2**62)
    if len(_OUVERTS) >= _OUVERTS_MAX:
        _OUVERTS.clear()
    _OUVERTS[key] = (debut, max(fin, minute + 1), answer)
    return answer


# --- week-end --------------------------------------------------------------------------------------

WEEK_END_SEMAINES = 5  # look this many weeks ahead (covers "first Saturday of the month" rules)


def ouvert_le_week_end(
    horaires: str | None, reference: datetime | date | None = None, *, fuseau: str = FUSEAU_PAR_DEFAUT
) -> bool | None:
    """Whether the lieu opens on a Saturday or a Sunday in the coming weeks; None if unknown/unreadable."""
    texte = _normalise(horaires)
    if not texte:
        return None
    if isinstance(reference, datetime):
        jour = _local(reference, fuseau).date()
    elif isinstance(reference, date):
        jour = reference
    else:
        jour = _local(None, fuseau).date()
    lundi = jour - timedelta(days=jour.weekday())
    return _ouvert_week_end(texte, fuseau, lundi)


@lru_cache(maxsize=16384)
def _ouvert_week_end(texte: str, fuseau: str, lundi: date) -> bool | None:
    parsed = _parse(texte, fuseau)
    if not isinstance(parsed, OpeningHours):
        return None
    zone = _zone(fuseau)
    for semaine_index in range(WEEK_END_SEMAINES):
        samedi = lundi + timedelta(days=7 * semaine_index + 5)
        debut = datetime.combine(samedi, time(0, 0), zone)
        fin = datetime.combine(samedi + timedelta(days=2), time(0, 0), zone)
        try:
            for start, end, state, _comment in _intervalles(parsed, texte, debut, fin):
                if state == State.OPEN and end > start:
                    return True
        except Exception:  # noqa: BLE001
            return None
    return False


# --- week table ------------------------------------------------------------------------------------


@dataclass
class JourHoraires:
    nom: str  # "lundi"…
    date: date
    intervalles: list[tuple[str, str]] = field(default_factory=list)  # [("09:00", "12:00"), …]
    commentaires: list[str] = field(default_factory=list)
    aujourd_hui: bool = False

    @property
    def ferme(self) -> bool:
        return not self.intervalles and not self.commentaires

    @property
    def plages(self) -> list[str]:
        """The day's opening periods as people read them: « 09:00 – 12:00 », « 14:00 – 18:00 »; or
        « Ouvert 24 h/24 ». Empty on a day without opening hours."""
        if self.intervalles == [("00:00", "24:00")]:
            return ["Ouvert 24 h/24"]
        return [f"{debut} – {fin}" for debut, fin in self.intervalles]

    @property
    def remarque(self) -> str:
        """The day's comments after its periods: « (sur rendez-vous) »; empty when there are none."""
        return f"({', '.join(self.commentaires)})" if self.intervalles and self.commentaires else ""

    @property
    def libelle(self) -> str:
        if not self.intervalles:
            if self.commentaires:  # « Sur rendez-vous »: neither open hours nor « Fermé »
                texte = ", ".join(self.commentaires)
                return texte[:1].upper() + texte[1:]
            return "Fermé"
        return " ".join(filter(None, (", ".join(self.plages), self.remarque)))


@dataclass
class Semaine:
    texte: str
    valide: bool
    renseigne: bool
    jours: list[JourHoraires] = field(default_factory=list)
    message: str = ""


def semaine(
    horaires: str | None, jour: date | datetime | None = None, *, fuseau: str = FUSEAU_PAR_DEFAUT
) -> Semaine:
    """The week (Monday → Sunday) holding `jour` (default today): intervals per day, or "Fermé".

    An opening that runs past midnight is shown on the day it starts ("22:00 – 02:00"). Public holidays of
    that week are taken into account (a holiday closed by `PH off` shows "Fermé").
    """
    texte = _normalise(horaires)
    parsed = _parse(texte, fuseau)
    if parsed is None:
        return Semaine(texte, True, False, message="Horaires non renseignés")
    if isinstance(parsed, _Invalide):
        return Semaine(horaires or "", False, True, message=parsed.message)
    zone = _zone(fuseau)
    if isinstance(jour, datetime):
        aujourd_hui = _local(jour, fuseau).date()
    elif isinstance(jour, date):
        aujourd_hui = jour
    else:
        aujourd_hui = _local(None, fuseau).date()
    lundi = aujourd_hui - timedelta(days=aujourd_hui.weekday())
    jours = [
        JourHoraires(JOURS[i], lundi + timedelta(days=i), aujourd_hui=(lundi + timedelta(days=i) == aujourd_hui))
        for i in range(7)
    ]
    debut = datetime.combine(lundi - timedelta(days=1), time(0, 0), zone)
    fin = datetime.combine(lundi + timedelta(days=8), time(0, 0), zone)
    try:
        intervals = list(_intervalles(parsed, texte, debut, fin))
    except Exception:  # noqa: BLE001
        return Semaine(horaires or "", False, True, message="Horaires illisibles.")
    for start, end, state, commentaire in intervals:
        if end is None or end <= start:
            continue
        if state == State.UNKNOWN and commentaire:  # « sur rendez-vous »: said on the day, no hours shown
            _commenter(jours, lundi, start, end, commentaire.strip())
        if state != State.OPEN:
            continue
        _placer(jours, lundi, start, end, (commentaire or "").strip())
    return Semaine(texte, True, True, jours)


def _placer(jours: list[JourHoraires], lundi: date, start: datetime, end: datetime, commentaire: str) -> None:
    jour_debut = start.date()
    # Overnight opening (less than a day, ends the next morning): one entry on the day it starts.
    if end - start < timedelta(days=1) and end.date() == jour_debut + timedelta(days=1) and start.time() != time(0):
        _ajouter(jours, lundi, jour_debut, _hhmm(start), "24:00" if end.time() == time(0) else _hhmm(end), commentaire)
        return
    curseur = start
    while curseur < end:
        minuit = datetime.combine(curseur.date() + timedelta(days=1), time(0, 0), curseur.tzinfo)
        morceau_fin = min(end, minuit)
        if morceau_fin > curseur:
            fin_txt = "24:00" if morceau_fin == minuit else _hhmm(morceau_fin)
            _ajouter(jours, lundi, curseur.date(), _hhmm(curseur), fin_txt, commentaire)
        curseur = minuit


def _commenter(jours: list[JourHoraires], lundi: date, start: datetime, end: datetime, commentaire: str) -> None:
    jour = start.date()
    while datetime.combine(jour, time(0, 0), start.tzinfo) < end:
        index = (jour - lundi).days
        if 0 <= index < 7 and commentaire not in jours[index].commentaires:
            jours[index].commentaires.append(commentaire)
        jour += timedelta(days=1)


def _ajouter(jours, lundi, jour: date, debut: str, fin: str, commentaire: str) -> None:
    index = (jour - lundi).days
    if not 0 <= index < 7:
        return
    entree = jours[index]
    if entree.intervalles and entree.intervalles[-1][1] == debut:
        entree.intervalles[-1] = (entree.intervalles[-1][0], fin)  # contiguous pieces read as one
    else:
        entree.intervalles.append((debut, fin))
    if commentaire and commentaire not in entree.commentaires:
        entree.commentaires.append(commentaire)


# --- for moderators --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HorairesInvalides:
    texte: str
    nombre: int  # number of (non-merged) lieux using this string
    message: str


def _publies_avec_horaires():
    """The published lieux with hours, as two querysets annotated with `prefixe` (the indexed start of
    `horaires`): those on the map and those without a position. Each one's conditions are those of its
    partial index (lieu_horaires_idx, lieu_horaires_hors_carte_idx), so that the database may read the
    index alone: at a million lieux, grouping them by the whole string read the table (2.2 s)."""
    from django.db.models import Q

    from .models import HorairesRenseignes, Lieu, PrefixeHoraires

    publies = Lieu.objects.filter(HorairesRenseignes(), fusionne_dans__isnull=True)
    return [
        publies.filter(latitude__isnull=False, longitude__isnull=False).annotate(prefixe=PrefixeHoraires()),
        publies.filter(Q(latitude__isnull=True) | Q(longitude__isnull=True)).annotate(prefixe=PrefixeHoraires()),
    ]


def horaires_invalides() -> list[HorairesInvalides]:
    """Every distinct unreadable `horaires` string of the published lieux, most used first."""
    from django.db.models import Count

    from .models import HORAIRES_INDEX_CHARS

    nombres: dict[str, int] = {}
    for lieux in _publies_avec_horaires():
        longs = []
        for row in lieux.values("prefixe").annotate(nombre=Count("id")).order_by().iterator(chunk_size=5000):
            if len(row["prefixe"]) < HORAIRES_INDEX_CHARS:
                nombres[row["prefixe"]] = nombres.get(row["prefixe"], 0) + row["nombre"]
            else:
                longs.append(row["prefixe"])
        # A string as long as the index's prefix may be longer: the whole strings of those, in one query.
        if longs:
            entiers = lieux.filter(prefixe__in=longs).values("horaires").annotate(nombre=Count("id")).order_by()
            for entier in entiers:
                nombres[entier["horaires"]] = nombres.get(entier["horaires"], 0) + entier["nombre"]
    out = []
    for texte, nombre in nombres.items():
        message = erreur(texte)
        if message:
            out.append(HorairesInvalides(texte, nombre, message))
    out.sort(key=lambda item: (-item.nombre, item.texte))
    return out


# The most used unreadable strings that a list of lieux is filtered on (one SQL parameter each).
INVALID_HOURS_LISTED = 10_000


def invalid_hours_queryset(queryset=None):
    """The lieux of `queryset` (by default the published lieux, by name) whose `horaires` cannot be
    read: the published lieux of the INVALID_HOURS_LISTED most used unreadable strings (moderation
    screens), found through the hours indexes."""
    from django.db.models import Q

    from .models import HORAIRES_INDEX_CHARS, Lieu

    textes = [item.texte for item in horaires_invalides()[:INVALID_HOURS_LISTED]]
    # A string shorter than the index's prefix is its own prefix; a longer one is checked whole.
    courts = [texte for texte in textes if len(texte) < HORAIRES_INDEX_CHARS]
    longs = [texte for texte in textes if len(texte) >= HORAIRES_INDEX_CHARS]
    cherches = Q(prefixe__in=courts)
    if longs:
        cherches |= Q(prefixe__in={texte[:HORAIRES_INDEX_CHARS] for texte in longs}, horaires__in=longs)
    sur_carte, hors_carte = (lieux.filter(cherches).values("id") for lieux in _publies_avec_horaires())
    if queryset is None:
        queryset = Lieu.objects.filter(fusionne_dans__isnull=True).order_by("nom", "id")
    return queryset.filter(id__in=sur_carte.union(hors_carte, all=True)) if textes else queryset.none()
