"""Opening hours: state now, French labels, week table, week-end, invalid strings (never an exception)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from mednum.lieux import hours

PARIS = ZoneInfo("Europe/Paris")
SEMAINE = "Mo-Fr 09:00-12:00,14:00-18:00; PH off"


def at(*args, tz=PARIS):
    return datetime(*args, tzinfo=tz)


# 2026: 13 July is a Monday, 14 July (national day) a Tuesday, 25 December a Friday.


def test_open_and_closing_time():
    state = hours.state_at(SEMAINE, at(2026, 7, 15, 10, 0))
    assert state.etat == "ouvert" and state.ouvert is True
    assert state.libelle == "Ouvert · ferme à 12:00"
    assert state.prochain_changement == at(2026, 7, 15, 12, 0)


def test_closed_at_lunch_opens_later_today():
    state = hours.state_at(SEMAINE, at(2026, 7, 15, 12, 30))
    assert state.etat == "ferme" and state.ouvert is False
    assert state.libelle == "Fermé · ouvre à 14:00"


def test_closed_in_the_evening_opens_tomorrow():
    assert hours.state_at(SEMAINE, at(2026, 7, 15, 19, 0)).libelle == "Fermé · ouvre demain à 09:00"


def test_closed_on_friday_evening_opens_monday():
    assert hours.state_at("Mo-Fr 09:00-18:00", at(2026, 7, 17, 19, 0)).libelle == "Fermé · ouvre lundi à 09:00"


def test_national_day_is_a_public_holiday():
    state = hours.state_at("Mo-Fr 09:00-18:00; PH off", at(2026, 7, 14, 10, 0))
    assert state.etat == "ferme"
    assert state.libelle == "Fermé · ouvre demain à 09:00"
    assert hours.est_ouvert("Mo-Fr 09:00-18:00; PH off", at(2026, 7, 14, 10, 0)) is False
    # Without "PH off" the same Tuesday is an ordinary open day.
    assert hours.est_ouvert("Mo-Fr 09:00-18:00", at(2026, 7, 14, 10, 0)) is True


def test_christmas_is_a_public_holiday():
    state = hours.state_at("Mo-Fr 09:00-18:00; PH off", at(2026, 12, 25, 10, 0))
    assert state.etat == "ferme"
    assert state.libelle == "Fermé · ouvre lundi à 09:00"


def test_open_across_midnight():
    texte = "Fr 22:00-02:00"
    assert hours.est_ouvert(texte, at(2026, 7, 17, 23, 30)) is True  # Friday night
    saturday_night = hours.state_at(texte, at(2026, 7, 18, 1, 0))  # still open on Saturday at 01:00
    assert saturday_night.etat == "ouvert"
    assert saturday_night.libelle == "Ouvert · ferme à 02:00"
    assert hours.est_ouvert(texte, at(2026, 7, 18, 2, 30)) is False
    assert hours.state_at(texte, at(2026, 7, 17, 21, 0)).libelle == "Fermé · ouvre à 22:00"
    assert hours.state_at(texte, at(2026, 7, 17, 22, 30)).libelle == "Ouvert · ferme demain à 02:00"


def test_closing_at_midnight_reads_a_minuit():
    assert hours.state_at("Mo-Su 18:00-24:00", at(2026, 7, 15, 19, 0)).libelle == "Ouvert · ferme à minuit"


def test_week_end():
    assert hours.state_at("Sa-Su 10:00-17:00", at(2026, 7, 18, 11, 0)).etat == "ouvert"
    assert hours.state_at("Mo-Fr 09:00-18:00", at(2026, 7, 18, 11, 0)).libelle == "Fermé · ouvre lundi à 09:00"
    assert hours.ouvert_le_week_end("Mo-Fr 09:00-18:00", date(2026, 7, 15)) is False
    assert hours.ouvert_le_week_end("Mo-Sa 09:00-12:00", date(2026, 7, 15)) is True
    assert hours.ouvert_le_week_end("Su 10:00-12:00", date(2026, 7, 15)) is True
    assert hours.ouvert_le_week_end("Fr 22:00-02:00", date(2026, 7, 15)) is True  # Saturday 00:00-02:00
    assert hours.ouvert_le_week_end("Sa[1] 09:00-12:00", date(2026, 7, 15)) is True  # first Saturday of August
    assert hours.ouvert_le_week_end("", date(2026, 7, 15)) is None
    assert hours.ouvert_le_week_end("samedi matin", date(2026, 7, 15)) is None


def test_far_next_change_uses_a_date():
    state = hours.state_at("Jan 10 10:00-12:00", at(2026, 7, 13, 11, 0))
    assert state.libelle == "Fermé · ouvre le 10 janvier à 10:00"
    assert hours.state_at("off", at(2026, 7, 13, 11, 0)).libelle == "Fermé"
    assert hours.state_at("24/7", at(2026, 7, 13, 11, 0)).libelle == "Ouvert 24 h/24"


def test_comments_are_kept():
    state = hours.state_at('Mo 10:00-12:00 "sur rendez-vous"', at(2026, 7, 13, 11, 0))
    assert state.libelle == "Ouvert · ferme à 12:00 (sur rendez-vous)"
    assert state.commentaire == "sur rendez-vous"


@pytest.mark.parametrize("texte", ["lundi 9h-12h", "Mo-Fr 9-18", "Mo-Fr 09:00-25:00;;", "n'importe quoi", "Lu-Ve 09:00-18:00"])
def test_invalid_strings_are_flagged_never_raised(texte):
    state = hours.state_at(texte, at(2026, 7, 15, 10, 0))
    assert state.valide is False
    assert state.etat == "inconnu" and state.ouvert is None
    assert state.texte == texte  # shown as given
    assert state.libelle == "Horaires à vérifier"
    assert hours.est_ouvert(texte, at(2026, 7, 15, 10, 0)) is False
    assert hours.est_valide(texte) is False
    assert hours.erreur(texte).startswith("Syntaxe d'horaires OpenStreetMap non reconnue")
    week = hours.semaine(texte, date(2026, 7, 15))
    assert week.valide is False and week.jours == [] and week.texte == texte
    assert hours.parse(texte) is None


def test_empty_hours():
    state = hours.state_at("", at(2026, 7, 15, 10, 0))
    assert (state.etat, state.libelle, state.valide) == ("inconnu", "Horaires non renseignés", True)
    assert hours.est_valide("") is True and hours.erreur("") is None
    assert hours.semaine(None).renseigne is False


def test_week_table():
    week = hours.semaine(SEMAINE + "; Fr 14:00-18:00, 22:00-02:00; Su 20:00-24:00", date(2026, 7, 15))
    assert week.valide and week.renseigne
    table = {j.nom: j.libelle for j in week.jours}
    assert [j.nom for j in week.jours] == list(hours.JOURS)
    assert table == {
        "lundi": "09:00 – 12:00, 14:00 – 18:00",
        "mardi": "Fermé",  # 14 July
        "mercredi": "09:00 – 12:00, 14:00 – 18:00",
        "jeudi": "09:00 – 12:00, 14:00 – 18:00",
        "vendredi": "14:00 – 18:00, 22:00 – 02:00",
        "samedi": "Fermé",  # 00:00-02:00 belongs to Friday's night
        "dimanche": "20:00 – 24:00",
    }
    assert [j.aujourd_hui for j in week.jours] == [False, False, True, False, False, False, False]
    assert week.jours[0].date == date(2026, 7, 13)
    assert week.jours[0].intervalles == [("09:00", "12:00"), ("14:00", "18:00")]
    assert hours.semaine("24/7", date(2026, 7, 15)).jours[3].libelle == "Ouvert 24 h/24"


def test_overseas_time_zone():
    # 10:00 in Paris is 04:00 in Guadeloupe: a 09:00-18:00 place there is still closed.
    moment = at(2026, 7, 15, 10, 0)
    fuseau = hours.fuseau_pour_code_insee("97105")
    assert fuseau == "America/Guadeloupe"
    assert hours.est_ouvert("Mo-Fr 09:00-18:00", moment, fuseau=fuseau) is False
    assert hours.state_at("Mo-Fr 09:00-18:00", moment, fuseau=fuseau).libelle == "Fermé · ouvre à 09:00"
    assert hours.fuseau_pour_code_insee("69123") == "Europe/Paris"
    assert hours.fuseau_pour_code_insee("") == "Europe/Paris"


def test_naive_and_utc_datetimes_are_read_as_local_time():
    assert hours.est_ouvert(SEMAINE, datetime(2026, 7, 15, 10, 0)) is True
    # Summer time: UTC+2 in Paris.
    assert hours.est_ouvert(SEMAINE, datetime(2026, 7, 15, 6, 30, tzinfo=ZoneInfo("UTC"))) is False  # 08:30
    assert hours.est_ouvert(SEMAINE, datetime(2026, 7, 15, 7, 30, tzinfo=ZoneInfo("UTC"))) is True  # 09:30


def test_parsing_is_cached_by_string():
    hours._parse.cache_clear()
    for _ in range(50):
        hours.state_at(SEMAINE, at(2026, 7, 15, 10, 0))
    info = hours._parse.cache_info()
    assert info.misses == 1 and info.hits >= 49


@pytest.mark.django_db
def test_invalid_hours_for_moderators():
    from tests.geo.helpers import lieu

    ok = lieu(45.0, 5.0, horaires=SEMAINE)
    bad1 = lieu(45.0, 5.0, horaires="lundi 9h-12h")
    bad2 = lieu(45.0, 5.0, horaires="lundi 9h-12h")
    bad3 = lieu(45.0, 5.0, horaires="Lu-Ve")
    merged = lieu(45.0, 5.0, horaires="Lu-Ve", fusionne_dans=ok)
    lieu(45.0, 5.0, horaires="")
    listed = hours.horaires_invalides()
    assert [(item.texte, item.nombre) for item in listed] == [("lundi 9h-12h", 2), ("Lu-Ve", 1)]
    assert all(item.message for item in listed)
    ids = set(hours.invalid_hours_queryset().values_list("id", flat=True))
    assert ids == {bad1.id, bad2.id, bad3.id}
    assert merged.id not in ids


# A readable string longer than the indexed start of `horaires`, and an unreadable one sharing that start.
# (Strings over hours.LONGUEUR_MAX characters, 300, are not read at all.)
LONGUE = "; ".join([f"{jour} 0{h}:00-0{h}:30" for h in range(1, 10) for jour in ("Mo", "Tu", "We", "Th", "Fr")][:16])


@pytest.mark.django_db
def test_invalid_hours_longer_than_the_index_and_lieux_without_position():
    from mednum.lieux.models import HORAIRES_INDEX_CHARS
    from tests.geo.helpers import lieu

    assert len(LONGUE) > HORAIRES_INDEX_CHARS and hours.est_valide(LONGUE + "; Su off")
    assert not hours.est_valide(LONGUE + "; dimanche fermé")
    lisible = lieu(45.0, 5.0, horaires=LONGUE + "; Su off")
    illisible = lieu(45.0, 5.0, horaires=LONGUE + "; dimanche fermé")
    sans_position = lieu(None, None, horaires="Lu-Ve")
    sans_longitude = lieu(45.0, None, horaires=LONGUE + "; dimanche fermé")
    lieu(None, None, horaires=SEMAINE)
    listed = hours.horaires_invalides()
    assert [(item.texte, item.nombre) for item in listed] == [(LONGUE + "; dimanche fermé", 2), ("Lu-Ve", 1)]
    ids = set(hours.invalid_hours_queryset().values_list("id", flat=True))
    assert ids == {illisible.id, sans_position.id, sans_longitude.id}
    assert lisible.id not in ids
    # The admin's filter narrows the queryset it is given.
    from mednum.lieux.models import Lieu

    assert set(hours.invalid_hours_queryset(Lieu.objects.filter(latitude__isnull=True)).values_list("id", flat=True)) == {
        sans_position.id
    }


@pytest.mark.django_db
def test_no_invalid_hours_lists_nothing():
    from tests.geo.helpers import lieu

    lieu(45.0, 5.0, horaires=SEMAINE)
    assert hours.horaires_invalides() == []
    assert not hours.invalid_hours_queryset().exists()


def test_hours_conditions_are_written_as_the_indexes_are():
    """The hours indexes are partial (`NOT (horaires = '')`): written with the empty string as a query
    parameter, the condition is checked on every row of the table instead of being read from the index
    (3.2 s instead of 0.12 s at a million lieux on SQLite), and SQLite matches an index on `SUBSTR` only
    with its bounds written out. The moderators' list keeps both in the SQL text."""
    for lieux in hours._publies_avec_horaires():
        sql, params = lieux.values("prefixe").query.sql_with_params()
        assert params == ()
        assert "NOT (" in sql and "= '')" in sql and ", 1, 250)" in sql


# --- comments alone, impossible dates -----------------------------------------------------------------

DIMANCHE_3H = datetime(2026, 11, 29, 3, 0, tzinfo=PARIS)


@pytest.mark.parametrize("texte", ['"sur rendez-vous"', 'Mo-Fr 09:00-12:00 || "sur rendez-vous"'])
def test_a_comment_alone_is_not_open(texte):
    """opening-hours-py reads a rule made of a comment alone as open at every hour: « ouvert maintenant »
    listed « sur rendez-vous » on Sunday at 3 a.m., and the week table said 00:00–24:00 every day. The
    OSM specification makes such a rule « unknown »."""
    assert hours.est_ouvert(texte, DIMANCHE_3H) is False
    assert hours.state_at(texte, DIMANCHE_3H).libelle == "Sur rendez-vous"
    assert hours.ouvert_le_week_end(texte, DIMANCHE_3H) is not True
    semaine = hours.semaine(texte, DIMANCHE_3H)
    assert semaine.valide and all("24:00" not in jour.libelle for jour in semaine.jours)
    assert semaine.jours[6].libelle == "Sur rendez-vous"
    # The hours before « || » still count.
    assert hours.est_ouvert(texte, datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)) is ("09:00" in texte)


SAMEDI_3H = datetime(2026, 11, 28, 3, 0, tzinfo=PARIS)


@pytest.mark.parametrize("texte", ['Sa "sur rendez-vous"', 'Mo-Fr 09:00-12:00; Sa "sur rendez-vous"',
                                   'Mo-Fr 09:00-12:00, Sa,Su "sur rendez-vous"'])
def test_days_with_a_comment_and_no_hours_are_not_open(texte):
    """« Sa "sur rendez-vous" » was read as open all Saturday: « Ouvert · ferme à minuit » at 3 a.m.,
    listed by « ouvert maintenant » and « ouvert le week-end », 00:00 – 24:00 in the week table."""
    assert hours.est_ouvert(texte, SAMEDI_3H) is False
    etat = hours.state_at(texte, SAMEDI_3H)
    assert (etat.etat, etat.libelle) == ("inconnu", "Sur rendez-vous")
    assert hours.ouvert_le_week_end(texte, SAMEDI_3H) is False
    semaine = hours.semaine(texte, SAMEDI_3H)
    assert semaine.jours[5].libelle == "Sur rendez-vous"
    assert all("24:00" not in jour.libelle for jour in semaine.jours)
    # The weekdays' hours still count.
    assert hours.est_ouvert(texte, datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)) is ("09:00" in texte)


@pytest.mark.parametrize("texte", ['Sa 10:00-12:00 "sur rendez-vous"', 'Sa open "sur rendez-vous"', '24/7 "accueil"'])
def test_a_comment_next_to_hours_or_a_state_keeps_them(texte):
    assert hours.est_ouvert(texte, datetime(2026, 11, 28, 11, 0, tzinfo=PARIS)) is True


def test_hours_too_long_to_read_are_to_check():
    """A 9,800-character string (valid) cost ~170 ms to read at each minute: a page of 120 such lieux
    took 15 s. Strings longer than OpenStreetMap allows, with a margin, are shown as given."""
    longue = "; ".join(["Jan-Dec PH,Mo-Su 00:00-24:00"] * 11)  # 328 characters
    assert len(longue) > hours.LONGUEUR_MAX
    assert hours.est_valide(longue) is False
    assert "trop longs" in hours.erreur(longue)
    assert hours.state_at(longue, SAMEDI_3H).libelle == "Horaires à vérifier"
    assert hours.est_ouvert(longue, SAMEDI_3H) is False
    assert hours.est_valide(longue[: hours.LONGUEUR_MAX].rsplit(";", 1)[0]) is True


@pytest.mark.parametrize("texte", ["Feb 30 02:00-04:00", "Apr 31 10:00-12:00", "Nov 31 off; Mo-Fr 09:00-12:00"])
def test_a_day_that_does_not_exist_makes_the_hours_to_check(texte):
    """opening-hours-py accepts « Feb 30 » and then reads the rule as every day (open at 03:00 daily)."""
    assert hours.est_ouvert(texte, DIMANCHE_3H) is False
    assert hours.est_valide(texte) is False
    assert "n'existe pas" in hours.erreur(texte)
    assert hours.state_at(texte, DIMANCHE_3H).libelle == "Horaires à vérifier"


def test_comments_inside_rules_are_unchanged():
    texte = 'Mo-Fr 09:00-12:00 "sur rendez-vous"; Sa 10:00-12:00'
    assert hours.est_ouvert(texte, datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)) is True
    assert hours.semaine(texte, DIMANCHE_3H).jours[0].libelle == "09:00 – 12:00 (sur rendez-vous)"


def test_periods_of_a_day_for_the_week_table():
    """The lieu page lays out each period unbroken (`plages`), then the day's comment (`remarque`)."""
    texte = 'Mo 09:00-12:00,14:00-18:00 "sur rendez-vous"; Tu 00:00-24:00; We "sur rendez-vous"'
    lundi, mardi, mercredi, jeudi = hours.semaine(texte, DIMANCHE_3H).jours[:4]
    assert lundi.plages == ["09:00 – 12:00", "14:00 – 18:00"]
    assert lundi.remarque == "(sur rendez-vous)"
    assert lundi.libelle == "09:00 – 12:00, 14:00 – 18:00 (sur rendez-vous)"
    assert (mardi.plages, mardi.remarque, mardi.libelle) == (["Ouvert 24 h/24"], "", "Ouvert 24 h/24")
    assert (mercredi.plages, mercredi.remarque, mercredi.libelle) == ([], "", "Sur rendez-vous")
    assert (jeudi.plages, jeudi.remarque, jeudi.libelle) == ([], "", "Fermé")


LUNDI_30_NOVEMBRE_13H = datetime(2026, 11, 30, 13, 0, tzinfo=PARIS)


@pytest.mark.parametrize("reference", [DIMANCHE_3H, LUNDI_30_NOVEMBRE_13H])
def test_fallback_rule_week_table_keeps_the_hours_of_each_day(reference):
    """After « || » a rule applies only to the days the others leave out. opening-hours-py 2.1 carries
    the first day's state to the end of a range of several days: the week table said « Sur rendez-vous »
    from Monday to Sunday (from a Sunday), or « Fermé » from Tuesday on (from a Monday)."""
    texte = 'Mo-Fr 09:00-12:00 || "sur rendez-vous"'
    jours = hours.semaine(texte, reference).jours
    assert [jour.libelle for jour in jours] == ["09:00 – 12:00"] * 5 + ["Sur rendez-vous"] * 2


def test_fallback_rule_next_opening_is_the_next_day():
    texte = 'Mo-Fr 09:00-12:00 || "sur rendez-vous"'
    state = hours.state_at(texte, LUNDI_30_NOVEMBRE_13H)
    assert state.etat == "ferme"
    assert state.libelle == "Fermé · ouvre demain à 09:00"
    assert state.prochain_changement == datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
    vendredi = hours.state_at(texte, datetime(2026, 12, 4, 10, 0, tzinfo=PARIS))
    assert vendredi.libelle == "Ouvert · ferme à 12:00"
    assert hours.state_at(texte, datetime(2026, 12, 4, 12, 30, tzinfo=PARIS)).prochain_changement == datetime(
        2026, 12, 5, 0, 0, tzinfo=PARIS)  # then « sur rendez-vous » for the week-end


@pytest.mark.parametrize(("texte", "ouvert"), [
    ('Su 10:00-12:00 || "sur rendez-vous"', True),
    ('Mo-Fr 09:00-12:00 || closed "sur rendez-vous"', False),
    ('Mo-Sa 09:00-12:00 || closed "sur rendez-vous"', True),
])
def test_fallback_rule_week_end(texte, ouvert):
    """From Saturday, the fallback rule (« sur rendez-vous ») used to hide Sunday's opening hours."""
    assert hours.ouvert_le_week_end(texte, date(2026, 11, 23)) is ouvert


@pytest.mark.parametrize("texte", [
    'Mo-Fr 09:00-12:00 || "sur rendez-vous"',
    'Mo-Fr 08:00-12:00,13:30-17:00; Sa 09:00-12:00 || "sur rendez-vous"',
    'Fr 22:00-02:00 || "sur rendez-vous"',
    'Mo-Fr 09:00-18:00; PH off || closed "fermé sauf rendez-vous"',
    'Su 01:00-04:00 || "sur rendez-vous"',
])
@pytest.mark.parametrize("lundi", [
    datetime(2026, 12, 21, 0, 0, tzinfo=PARIS),  # Christmas week
    datetime(2026, 10, 19, 0, 0, tzinfo=PARIS),  # clocks go back on Sunday 25 October
    datetime(2026, 3, 23, 0, 0, tzinfo=PARIS),  # clocks go forward on Sunday 29 March
])
def test_fallback_rule_week_table_agrees_with_the_state_at_each_hour(texte, lundi):
    """Every hour of the week table is in the state `state_at` gives for that hour."""
    from datetime import timedelta

    semaine = hours.semaine(texte, lundi)
    for heure in range(7 * 24):
        moment = lundi + timedelta(hours=heure, minutes=30)
        if moment.astimezone(ZoneInfo("UTC")).astimezone(PARIS).replace(tzinfo=None) != moment.replace(tzinfo=None):
            continue  # 02:30 on the night clocks go forward does not exist
        jour = semaine.jours[moment.weekday()]
        hhmm = moment.strftime("%H:%M")
        in_table = any(debut <= hhmm < fin for debut, fin in jour.intervalles)
        overnight = any(fin < debut and hhmm >= debut for debut, fin in jour.intervalles)
        veille = semaine.jours[moment.weekday() - 1] if moment.weekday() else None
        from_veille = veille is not None and any(fin < debut and hhmm < fin for debut, fin in veille.intervalles)
        assert (in_table or overnight or from_veille) is (hours.state_at(texte, moment).etat == "ouvert"), (moment, jour)


@pytest.mark.parametrize("fuseau", ["Europe/Paris", "America/Cayenne", "Pacific/Noumea"])
def test_remembered_answer_is_the_answer_of_each_minute(fuseau):
    """`est_ouvert` keeps an answer until the hours' next change: asked minute after minute (and back in
    time) it says what evaluating the hours at that minute says."""
    from datetime import timedelta

    strings = [
        "Mo-Fr 09:00-12:00,14:00-18:00; PH off", "Fr-Sa 20:00-02:00", "24/7", "off", "Sa[1] 10:00-12:00",
        "Mo-Su 08:00-18:00; Jul 14 off", "lundi 9h", "Tu 10:00-12:00 || Mo-Fr 14:00-16:00", "",
    ]
    zone = ZoneInfo(fuseau)

    def evaluated(texte, moment):
        parsed = hours.parse(texte, fuseau)
        local = (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone))
        return parsed is not None and parsed.is_open(local.replace(second=0, microsecond=0))

    hours._OUVERTS.clear()
    start = datetime(2026, 7, 10, 7, 0, tzinfo=ZoneInfo("Europe/Paris"))
    # Every 13 minutes over 9 days (national day, a first Saturday, midnights), then the same minutes
    # again in reverse order: answers remembered from later minutes must not leak to earlier ones; then
    # as naive datetimes, read as local time in the lieu's time zone.
    moments = [start + timedelta(minutes=13 * n) for n in range(9 * 24 * 60 // 13)]
    naive = [m.astimezone(zone).replace(tzinfo=None) + timedelta(minutes=7) for m in moments[::5]]
    for moment in moments + moments[::-1] + naive:
        for texte in strings:
            assert hours.est_ouvert(texte, moment, fuseau=fuseau) == evaluated(texte, moment), (texte, moment)
    assert any(evaluated("Fr-Sa 20:00-02:00", m) for m in moments)
