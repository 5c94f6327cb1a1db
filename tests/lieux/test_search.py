"""lieux.search: parameters, filters (OR within a field, AND across), opening hours, pagination, suggestions."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mednum.geo.distance import haversine_km
from mednum.lieux import hours, search
from mednum.lieux.models import Lieu
from mednum.lieux.search import ParametresInvalides, SearchParams, parse_params, search_lieux
from mednum.standard import schema
from tests.factories import CommuneFactory, DepartementFactory, RegionFactory
from tests.geo.helpers import bulk, lieu, random_lieux

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _fresh_state():
    from django.core.cache import cache

    search.forget_caches()
    cache.clear()
    yield
    search.forget_caches()
WEDNESDAY_10H = datetime(2026, 7, 15, 10, 0, tzinfo=PARIS)
LYON = (45.7640, 4.8357)


def ids(result):
    return [item["id"] for item in result.resultats]


def params(**kwargs):
    kwargs.setdefault("latitude", LYON[0])
    kwargs.setdefault("longitude", LYON[1])
    return SearchParams(**kwargs)


# --- ordering, distance, merged -----------------------------------------------------------------


def test_results_by_distance_with_distance_km():
    far = lieu(45.80, 4.90)
    near = lieu(45.765, 4.836)
    middle = lieu(45.77, 4.85)
    result = search_lieux(params())
    assert ids(result) == [near.id, middle.id, far.id]
    distances = [item["distance_km"] for item in result.resultats]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(haversine_km(*LYON, 45.765, 4.836), abs=1e-3)
    assert result.total == 3 and result.page_suivante is False and not result.aucun_resultat


def test_merged_lieux_are_excluded():
    survivor = lieu(45.765, 4.836)
    lieu(45.765, 4.8361, fusionne_dans=survivor)
    assert ids(search_lieux(params())) == [survivor.id]


def test_radius_limits_results():
    inside = lieu(45.80, 4.84)  # ≈ 4 km
    lieu(45.90, 4.84)  # ≈ 15 km
    assert ids(search_lieux(params(rayon_km=5))) == [inside.id]
    assert len(search_lieux(params(rayon_km=20)).resultats) == 2


# --- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize("field_name", search.FILTER_FIELDS)
def test_every_filter_or_within_a_field(field_name):
    values = schema.enumerations()[field_name]
    a = lieu(45.765, 4.836, **{field_name: [values[0]]})
    b = lieu(45.766, 4.836, **{field_name: [values[1]]})
    both = lieu(45.767, 4.836, **{field_name: [values[0], values[1]]})
    lieu(45.768, 4.836)  # nothing
    assert ids(search_lieux(params(filtres={field_name: (values[0],)}))) == [a.id, both.id]
    assert ids(search_lieux(params(filtres={field_name: (values[0], values[1])}))) == [a.id, b.id, both.id]


def test_filters_and_across_fields():
    service, autre = "Aide aux démarches administratives", "Loisirs et créations numériques"
    gratuit_service = lieu(45.765, 4.836, services=[service], frais_a_charge=["Gratuit"])
    lieu(45.766, 4.836, services=[service], frais_a_charge=["Payant"])
    lieu(45.767, 4.836, services=[autre], frais_a_charge=["Gratuit"])
    gratuit_autre = lieu(45.768, 4.836, services=[autre, service], frais_a_charge=["Gratuit sous condition", "Gratuit"])
    result = search_lieux(params(filtres={"services": (service,), "frais_a_charge": ("Gratuit",)}))
    assert ids(result) == [gratuit_service.id, gratuit_autre.id]
    result = search_lieux(
        params(filtres={"services": (service,), "frais_a_charge": ("Gratuit",), "itinerance": ("Itinérant",)})
    )
    assert ids(result) == []


def test_filter_values_are_read_kindly():
    query = {"lat": "45.76", "lon": "4.83", "services": ["aide aux démarches administratives|Loisirs et créations numériques"],
             "formations_labels": "Étapes numériques(La Poste)"}
    parsed = parse_params(query)
    assert parsed.filtres == {
        "services": ("Aide aux démarches administratives", "Loisirs et créations numériques"),
        "formations_labels": ("Étapes numériques (La Poste)",),
    }


def test_unknown_value_names_the_allowed_ones():
    with pytest.raises(ParametresInvalides) as info:
        parse_params({"lat": "45", "lon": "5", "services": ["Aide aux démarches administratives", "Cuisine"]})
    (erreur,) = info.value.erreurs
    assert erreur.parametre == "services"
    assert "« Cuisine »" in erreur.message and "Aide aux démarches administratives" in erreur.message
    assert erreur.valeurs_possibles == tuple(schema.enumerations()["services"])


# --- opening hours ------------------------------------------------------------------------------


def test_ouvert_maintenant_keeps_looking_beyond_closed_neighbours():
    closed = bulk(random_lieux(200, centre=LYON, spread_km=2, seed=5, horaires="Sa 09:00-12:00"))
    open_far = lieu(45.90, 4.84, horaires="Mo-Fr 09:00-18:00; PH off")
    lieu(45.91, 4.84, horaires="Mo-Fr 09:00-18:00 PH off;lundi")  # invalid: never "open"
    result = search_lieux(params(rayon_km=30, ouvert_maintenant=True, maintenant=WEDNESDAY_10H))
    assert ids(result) == [open_far.id]
    assert len(search_lieux(params(rayon_km=30, maintenant=WEDNESDAY_10H)).resultats) == 20
    assert len(closed) == 200


def test_ouvert_maintenant_respects_holidays_and_overseas_time():
    weekday = lieu(45.765, 4.836, horaires="Mo-Fr 09:00-18:00; PH off")
    national_day = datetime(2026, 7, 14, 10, 0, tzinfo=PARIS)
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=national_day))) == []
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=WEDNESDAY_10H))) == [weekday.id]
    # Pointe-à-Pitre: 10:00 in Paris is 04:00 there.
    guadeloupe = lieu(16.2411, -61.5331, horaires="Mo-Fr 09:00-18:00", code_insee="97120")
    result = search_lieux(params(latitude=16.24, longitude=-61.53, ouvert_maintenant=True, maintenant=WEDNESDAY_10H))
    assert ids(result) == []
    later = datetime(2026, 7, 15, 16, 0, tzinfo=PARIS)  # 10:00 in Guadeloupe
    assert ids(search_lieux(params(latitude=16.24, longitude=-61.53, ouvert_maintenant=True, maintenant=later))) == [guadeloupe.id]


def test_ouvert_week_end():
    weekend = lieu(45.765, 4.836, horaires="Mo-Sa 09:00-12:00")
    lieu(45.766, 4.836, horaires="Mo-Fr 09:00-18:00")
    lieu(45.767, 4.836, horaires="")
    sunday_night = lieu(45.768, 4.836, horaires="Su 20:00-23:00")
    result = search_lieux(params(ouvert_week_end=True, maintenant=WEDNESDAY_10H))
    assert ids(result) == [weekend.id, sunday_night.id]
    both = search_lieux(params(ouvert_week_end=True, ouvert_maintenant=True, maintenant=WEDNESDAY_10H))
    assert ids(both) == [weekend.id]


def test_each_result_has_its_opening_state():
    lieu(45.765, 4.836, horaires="Mo-Fr 09:00-12:00")
    lieu(45.766, 4.836, horaires="lundi 9h")
    result = search_lieux(params(maintenant=WEDNESDAY_10H))
    states = [item["horaires_etat"] for item in result.resultats]
    assert states[0] == {"etat": "ouvert", "libelle": "Ouvert · ferme à 12:00", "valide": True}
    assert states[1] == {"etat": "inconnu", "libelle": "Horaires à vérifier", "valide": False}
    assert result.resultats[1]["horaires"] == "lundi 9h"


# --- « ouvert maintenant » read through the hours index when few lieux can be open ----------------

HOURS_MIX = (
    "Mo-Fr 09:00-12:00,14:00-18:00", "Mo-Sa 10:00-19:00; PH off", "Tu-Sa 08:30-12:30", "24/7",
    "Mo-Su 07:00-23:00", "Fr-Su 18:00-02:00", "", "lundi 9h", "Su 10:00-12:00", "Mo-Fr 09:00-18:00; PH off",
)


@pytest.mark.parametrize("moment", [
    datetime(2026, 7, 15, 10, 0, tzinfo=PARIS),  # a weekday morning: most are open
    datetime(2026, 7, 15, 23, 30, tzinfo=PARIS),  # late evening: a few
    datetime(2026, 7, 18, 1, 0, tzinfo=PARIS),  # Saturday 01:00: past midnight
    datetime(2026, 7, 14, 10, 0, tzinfo=PARIS),  # national day
    datetime(2026, 7, 19, 11, 0, tzinfo=PARIS),  # Sunday morning
])
def test_hours_index_and_spatial_search_agree(monkeypatch, moment):
    objs = random_lieux(300, centre=LYON, spread_km=25, seed=21)
    for n, obj in enumerate(objs):
        obj.horaires = HOURS_MIX[n % len(HOURS_MIX)]
    bulk(objs)
    services = {"services": ("Aide aux démarches administratives",)}
    cases = [
        params(rayon_km=20, taille=100, ouvert_maintenant=True, maintenant=moment, avec_total=True),
        params(rayon_km=20, taille=7, page=2, ouvert_maintenant=True, maintenant=moment, avec_total=True),
        params(rayon_km=20, taille=50, ouvert_maintenant=True, filtres=services, maintenant=moment, avec_total=True),
        params(rayon_km=20, taille=50, ouvert_maintenant=True, ouvert_week_end=True, maintenant=moment),
    ]

    def run(case):
        try:
            result = search_lieux(case)
        except search.PageHorsLimites as error:
            return ("page hors limites", error.total)
        return ([(item["id"], item["distance_km"]) for item in result.resultats], result.total,
                result.page_suivante, result.lieux_sans_filtre_horaires)

    assert search.horaires_possibles(search._hours_accept(cases[0])) is not None  # 300 lieux: the index path
    by_hours = [run(case) for case in cases]
    monkeypatch.setattr(search, "HORAIRES_CANDIDATS_MAX", 0)  # every search takes the spatial path
    search.forget_caches()
    assert search.horaires_possibles(search._hours_accept(cases[0])) in (None, search.HorairesPossibles([], []))
    by_space = [run(case) for case in cases]
    assert by_hours == by_space
    assert any(result[0] for result in by_hours if isinstance(result[0], list))  # not all empty


@pytest.mark.parametrize("moment", [
    datetime(2026, 7, 15, 23, 30, tzinfo=PARIS),  # late evening: a few open
    datetime(2026, 7, 16, 4, 0, tzinfo=PARIS),  # none
    datetime(2026, 7, 15, 10, 0, tzinfo=PARIS),  # most
])
def test_map_with_hours_filter_same_through_hours_index_and_space(monkeypatch, moment):
    from django.core.cache import cache

    from mednum.geo.distance import BBox
    from tests.factories import CommuneFactory, DepartementFactory, RegionFactory

    region = RegionFactory(code="84", nom="Auvergne-Rhône-Alpes")
    rhone = DepartementFactory(code="69", nom="Rhône", region=region)
    CommuneFactory(code="69123", nom="Lyon", departement=rhone, latitude=45.7676, longitude=4.8345)
    objs = random_lieux(400, centre=LYON, spread_km=25, seed=31)
    for n, obj in enumerate(objs):
        obj.horaires = HOURS_MIX[n % len(HOURS_MIX)]
        # Two in three in Lyon; the others without a commune link, counted by their INSEE code.
        obj.commune_id, obj.code_insee = ("69123", "69123") if n % 3 else (None, "69381")
        obj.typologie = "BIB" if n % 2 else "TIERS"
    bulk(objs)
    views = [
        search.CarteParams(BBox(41.0, 51.5, -5.5, 10.0), 5, ouvert_maintenant=True, maintenant=moment),
        search.CarteParams(BBox(41.0, 51.5, -5.5, 10.0), 7, ouvert_maintenant=True, maintenant=moment,
                           filtres={"services": ("Aide aux démarches administratives",)}),
        search.CarteParams(BBox(45.5, 46.3, 4.4, 5.4), 10, ouvert_maintenant=True, maintenant=moment),
        search.CarteParams(BBox(45.5, 46.3, 4.4, 5.4), 11, ouvert_maintenant=True, maintenant=moment,
                           filtres={"frais_a_charge": ("Gratuit",)}),
        search.CarteParams(BBox(45.70, 45.82, 4.75, 4.95), 14, ouvert_maintenant=True, maintenant=moment),
    ]
    filtre = search._hours_accept(params(ouvert_maintenant=True, maintenant=moment))
    assert search.horaires_possibles(filtre) is not None or moment.hour == 10
    through_hours = [search.carte(view) for view in views]
    monkeypatch.setattr(search, "HORAIRES_CANDIDATS_MAX", 0)
    search.forget_caches()
    cache.clear()
    through_space = [search.carte(view) for view in views]
    # Centres included: they are summed in whole micro-degrees, whatever order each path reads the rows in.
    assert through_hours == through_space
    assert moment.hour == 4 or through_hours[2]["nombre"] > 0


def test_hours_index_path_reads_only_the_lieux_that_can_be_open(monkeypatch):
    bulk(random_lieux(50, centre=LYON, spread_km=3, seed=3, horaires="Mo-Fr 09:00-18:00"))
    late = lieu(LYON[0] + 0.02, LYON[1], horaires="Mo-Su 20:00-23:59")
    evening = datetime(2026, 7, 15, 21, 0, tzinfo=PARIS)
    filtre = search._hours_accept(params(ouvert_maintenant=True, maintenant=evening))
    assert search.horaires_possibles(filtre) == search.HorairesPossibles(["Mo-Su 20:00-23:59"], [])
    monkeypatch.setattr(search, "nearest", lambda *a, **k: pytest.fail("the spatial search was not needed"))
    monkeypatch.setattr(search, "count_within", lambda *a, **k: pytest.fail("the spatial count was not needed"))
    result = search_lieux(params(ouvert_maintenant=True, maintenant=evening, avec_total=True))
    assert ids(result) == [late.id] and result.total == 1


def test_hours_census_follows_new_and_edited_lieux():
    night = datetime(2026, 7, 16, 3, 0, tzinfo=PARIS)
    bulk(random_lieux(40, centre=LYON, spread_km=5, seed=4, horaires="Mo-Fr 09:00-18:00"))
    edited = Lieu.objects.order_by("id").first()
    filtre = search._hours_accept(params(ouvert_maintenant=True, maintenant=night))
    assert search.horaires_possibles(filtre) == search.HorairesPossibles([], [])
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=night))) == []
    # No cache to forget: a lieu added or saved since is seen by the next search.
    always = lieu(LYON[0] + 0.01, LYON[1], horaires="24/7")
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=night))) == [always.id]
    edited.horaires = "Mo-Su 00:00-24:00"
    edited.save()
    assert sorted(search.horaires_possibles(filtre).partout) == ["24/7", "Mo-Su 00:00-24:00"]
    result = search_lieux(params(ouvert_maintenant=True, maintenant=night))
    assert sorted(ids(result)) == sorted([edited.id, always.id])


def test_hours_census_is_read_again_after_a_while(monkeypatch):
    """A write that moves neither max(id) nor max(modifie_le) (QuerySet.update; an import's updates all
    carry its start time) is seen once the census is older than RECENSEMENT_TTL."""
    night = datetime(2026, 7, 16, 3, 0, tzinfo=PARIS)
    bulk(random_lieux(40, centre=LYON, spread_km=5, seed=4, horaires="Mo-Fr 09:00-18:00"))
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=night))) == []
    changed = Lieu.objects.order_by("id").first()
    Lieu.objects.filter(pk=changed.pk).update(horaires="24/7")
    monkeypatch.setattr(search, "RECENSEMENT_TTL", 0)
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=night))) == [changed.id]


# Committed writes: inside a test's transaction that has written, PostgreSQL gives no stamp to rely on.
@pytest.mark.django_db(transaction=True)
def test_hours_census_is_kept_while_nothing_is_written(monkeypatch):
    """Past RECENSEMENT_TTL, the census is not read again (~0.5 s at a million lieux) when the database
    says that nothing was written since; any write, even one that moves neither max(id) nor
    max(modifie_le), makes the next search read it again."""
    bulk(random_lieux(40, centre=LYON, spread_km=5, seed=4, horaires="Mo-Fr 09:00-18:00"))
    monkeypatch.setattr(search, "RECENSEMENT_TTL", 0)
    first = search._recensement()
    assert first.stamp is not None
    assert search._recensement().horaires is first.horaires  # kept: nothing written
    changed = Lieu.objects.order_by("id").first()
    Lieu.objects.filter(pk=changed.pk).update(horaires="24/7")
    again = search._recensement()
    assert again.horaires is not first.horaires and ("24/7", 1) in again.horaires
    night = datetime(2026, 7, 16, 3, 0, tzinfo=PARIS)
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=night))) == [changed.id]


def test_varied_hours_keep_the_spatial_search():
    """Hours strings nearly as many as the lieux (real data can be so): evaluating them all would cost
    more than reading the radius."""
    objs = random_lieux(30, centre=LYON, spread_km=5, seed=6)
    for n, obj in enumerate(objs):
        obj.horaires = f"Mo-Fr 09:{n:02d}-18:00"
    bulk(objs)
    night = datetime(2026, 7, 16, 3, 0, tzinfo=PARIS)
    assert search.horaires_possibles(search._hours_accept(params(ouvert_maintenant=True, maintenant=night))) is None
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=night))) == []


def test_hours_index_path_with_long_hours_and_overseas_time():
    # Over the indexed prefix: the lieu is read and its whole hours string decides.
    # (the hours module reads up to 300 characters; the two strings differ past the 250th only)
    holidays = "; ".join(f"Dec {d:02d} off" for d in range(1, 22))
    long_open, long_closed = holidays + "; Mo-Su 00:00-24:00", holidays + "; Mo-Su 09:00-10:00"
    assert search.HORAIRES_INDEX_CHARS < len(long_open) <= 300 and hours.est_valide(long_open)
    bulk(random_lieux(60, centre=(47.0, 2.0), spread_km=5, seed=8, horaires="Mo-Fr 09:00-18:00"))
    open_lieu = lieu(LYON[0], LYON[1], horaires=long_open)
    lieu(LYON[0] + 0.001, LYON[1], horaires=long_closed)
    night = datetime(2026, 7, 16, 3, 0, tzinfo=PARIS)
    filtre = search._hours_accept(params(ouvert_maintenant=True, maintenant=night))
    assert search.horaires_possibles(filtre) is not None
    assert ids(search_lieux(params(ouvert_maintenant=True, maintenant=night))) == [open_lieu.id]
    # 03:00 in Paris is 13:00 in Nouméa: the overseas lieu's own time zone decides.
    noumea = lieu(-22.2758, 166.458, horaires="Mo-Fr 09:00-17:00", code_insee="98818", commune_nom="Nouméa")
    lieu(-22.2759, 166.458, horaires="Mo-Fr 09:00-17:00; PH off", code_insee="", commune_nom="Nouméa")
    filtre = search._hours_accept(params(ouvert_maintenant=True, maintenant=night))
    # Read among overseas lieux only: it passes in Nouméa, not in Paris.
    assert "Mo-Fr 09:00-17:00" in search.horaires_possibles(filtre).outre_mer
    result = search_lieux(params(latitude=-22.27, longitude=166.45, ouvert_maintenant=True, maintenant=night))
    assert ids(result) == [noumea.id]


def test_hours_index_is_usable():
    """The search's hours query can use lieu_horaires_idx (same expression, same condition as the index)."""
    from django.db import connection

    objs = random_lieux(600, centre=LYON, spread_km=30, seed=12)
    for n, obj in enumerate(objs):
        obj.horaires = f"Mo-Fr 09:00-{12 + n % 30 // 10}:{n % 10}0"
    bulk(objs)
    prefixe = search._PREFIXE_HORAIRES[connection.vendor]
    sql = (f"SELECT l.id FROM lieux_lieu l WHERE {prefixe} IN (%s, %s) AND {search._INDEXES_HORAIRES} "
           "AND l.latitude BETWEEN %s AND %s AND l.longitude BETWEEN %s AND %s")
    values = ["Mo-Fr 09:00-12:00", "Mo-Fr 09:00-13:50", 40.0, 50.0, 0.0, 8.0]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE lieux_lieu")
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole
            cursor.execute("EXPLAIN " + sql, values)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql.replace("%s", "?"), values)
        plan = " ".join(str(part) for row in cursor.fetchall() for part in row)
        cursor.execute(sql, values)
        assert len(cursor.fetchall()) == 40
    assert "lieu_horaires_idx" in plan


# --- pagination -----------------------------------------------------------------------------------


def test_pagination_is_stable_and_complete():
    objs = bulk(random_lieux(130, centre=LYON, spread_km=8, seed=11))
    # Ties on purpose: several lieux at the very same place are ordered by id.
    for _ in range(5):
        lieu(45.77, 4.84)
    seen = []
    page = 1
    while True:
        result = search_lieux(params(page=page, taille=17))
        seen += ids(result)
        if not result.page_suivante:
            break
        page += 1
    everything = ids(search_lieux(params(taille=100, rayon_km=10))) + ids(search_lieux(params(taille=100, page=2, rayon_km=10)))
    assert seen == everything
    assert len(seen) == len(set(seen))
    in_radius = [o for o in Lieu.objects.all() if haversine_km(*LYON, o.latitude, o.longitude) <= 10]
    assert len(seen) == len(in_radius)
    assert result.total == len(seen)
    assert len(objs) == 130


def test_page_beyond_the_last_is_an_error():
    for i in range(5):
        lieu(45.765 + i / 1000, 4.836)
    assert len(search_lieux(params(page=1, taille=2)).resultats) == 2
    assert len(search_lieux(params(page=3, taille=2)).resultats) == 1
    with pytest.raises(search.PageHorsLimites) as info:
        search_lieux(params(page=4, taille=2))
    assert "La page 4 n'existe pas : 5 résultats, soit 3 pages." in str(info.value)


# --- zero results ---------------------------------------------------------------------------------


@pytest.mark.parametrize("distance_deg,expected", [(0.15, 20), (0.40, 50), (0.80, 100), (1.5, None)])
def test_zero_results_suggest_a_wider_radius(distance_deg, expected):
    lieu(LYON[0] + distance_deg, LYON[1])  # 0.15° ≈ 17 km north, 0.40° ≈ 44 km, 0.80° ≈ 89 km, 1.5° ≈ 167 km
    result = search_lieux(params(rayon_km=10))
    assert result.resultats == [] and result.aucun_resultat and result.total == 0
    assert result.rayon_suggere_km == expected
    if expected:
        assert f"Élargissez la recherche à {expected} km" in result.message
    else:
        assert "ni à moins de 100 km" in result.message


def test_nothing_open_says_whether_lieux_exist_without_the_hours_filter():
    lieu(LYON[0] + 0.001, LYON[1], horaires="Mo-Fr 09:00-12:00")
    lieu(LYON[0] + 0.15, LYON[1], horaires="24/7")  # open, but 17 km away: no wider radius is read
    sunday_night = datetime(2026, 7, 19, 23, 0, tzinfo=PARIS)
    result = search_lieux(params(rayon_km=10, ouvert_maintenant=True, maintenant=sunday_night))
    assert result.aucun_resultat and result.rayon_suggere_km is None
    assert result.lieux_sans_filtre_horaires
    assert "Retirez le filtre sur les horaires" in result.message
    # Nothing here at all, even without the hours filter.
    result = search_lieux(params(latitude=LYON[0] - 0.5, rayon_km=10, ouvert_maintenant=True, maintenant=sunday_night))
    assert result.aucun_resultat and not result.lieux_sans_filtre_horaires
    assert result.message == "Aucun lieu ne correspond à ces critères dans un rayon de 10 km."


def test_suggestion_respects_filters():
    lieu(LYON[0] + 0.15, LYON[1], services=["Loisirs et créations numériques"])
    lieu(LYON[0] + 0.40, LYON[1], services=["Aide aux démarches administratives"])
    result = search_lieux(params(filtres={"services": ("Aide aux démarches administratives",)}))
    assert result.rayon_suggere_km == 50


# --- centre from a commune ------------------------------------------------------------------------


@pytest.fixture
def lyon_commune():
    region = RegionFactory(code="84", nom="Auvergne-Rhône-Alpes")
    rhone = DepartementFactory(code="69", nom="Rhône", region=region)
    return CommuneFactory(code="69123", nom="Lyon", departement=rhone, latitude=45.7676, longitude=4.8345)


def test_commune_centre(lyon_commune):
    a = lieu(45.768, 4.835)
    b = lieu(45.80, 4.90)
    result = search_lieux(SearchParams(commune="69123"))
    assert ids(result) == [a.id, b.id]
    assert result.commune == {"code": "69123", "nom": "Lyon"}
    assert (result.latitude, result.longitude) == (45.7676, 4.8345)


def test_unknown_commune_or_without_position(lyon_commune):
    with pytest.raises(ParametresInvalides, match="Commune inconnue : « 99999 »"):
        search_lieux(SearchParams(commune="99999"))
    CommuneFactory(code="69001", nom="Affoux", departement=lyon_commune.departement)
    with pytest.raises(ParametresInvalides, match="position de la commune Affoux"):
        search_lieux(SearchParams(commune="69001"))


# --- parameter checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,parametre,fragment",
    [
        ({"lat": "45"}, "lon", "vont ensemble"),
        ({"lon": "5"}, "lat", "vont ensemble"),
        ({"lat": "95", "lon": "5"}, "lat", "entre -90 et 90"),
        ({"lat": "45", "lon": "-200"}, "lon", "entre -180 et 180"),
        ({"lat": "abc", "lon": "5"}, "lat", "doit être un nombre"),
        ({"lat": "nan", "lon": "5"}, "lat", "entre -90 et 90"),
        ({"lat": "45", "lon": "5", "rayon_km": "150"}, "rayon_km", "au plus 100"),
        ({"lat": "45", "lon": "5", "rayon_km": "0"}, "rayon_km", "supérieur à 0"),
        ({"lat": "45", "lon": "5", "page": "0"}, "page", "entre 1"),
        ({"lat": "45", "lon": "5", "page": "deux"}, "page", "nombre entier"),
        ({"lat": "45", "lon": "5", "taille": "500"}, "taille", "entre 1 et 100"),
        ({"lat": "45", "lon": "5", "page": "60", "taille": "20"}, "page", "au-delà du 1000"),
        ({"lat": "45", "lon": "5", "ouvert_maintenant": "peut-être"}, "ouvert_maintenant", "« true » ou « false »"),
        ({"commune": "lyon"}, "commune", "code INSEE à 5 caractères"),
        ({"lat": "45", "lon": "5", "commune": "69123"}, "commune", "pas les deux"),
        ({}, "lat", "Indiquez une position"),
        ({"lat": "45", "lon": "5", "frais_a_charge": "Gratos"}, "frais_a_charge", "Valeurs possibles : « Gratuit »"),
    ],
)
def test_bad_parameters(query, parametre, fragment):
    with pytest.raises(ParametresInvalides) as info:
        parse_params(query)
    assert parametre in [e.parametre for e in info.value.erreurs]
    assert fragment in str(info.value)


def test_good_parameters():
    parsed = parse_params({"lat": "45,5", "lon": "4.8", "rayon_km": "25", "page": "2", "taille": "50",
                           "ouvert_maintenant": "oui", "ouvert_week_end": "false"})
    assert (parsed.latitude, parsed.longitude, parsed.rayon_km, parsed.page, parsed.taille) == (45.5, 4.8, 25, 2, 50)
    assert parsed.ouvert_maintenant is True and parsed.ouvert_week_end is False
    assert parse_params({"commune": "2a004"}).commune == "2A004"
    defaults = parse_params({"lat": "45", "lon": "5"})
    assert (defaults.rayon_km, defaults.page, defaults.taille) == (10, 1, 20)


def test_data_version_changes_with_the_data():
    a = lieu(45.0, 5.0)
    first = search.data_version()
    assert search.data_version() == first  # cached
    search.forget_data_version()
    assert search.data_version() == first  # same data, same version
    lieu(45.0, 5.0)
    search.forget_data_version()
    second = search.data_version()
    assert second != first
    Lieu.objects.filter(id=a.id).update(fusionne_dans=Lieu.objects.exclude(id=a.id).first())
    search.forget_data_version()
    assert search.data_version() != second


# --- use from the pages -----------------------------------------------------------------------------


def test_pages_may_pass_a_plain_mapping_and_get_a_total():
    objs = bulk(random_lieux(60, centre=LYON, spread_km=5, seed=8, services=["Aide aux démarches administratives"]))
    result = search_lieux({"lat": LYON[0], "lon": LYON[1], "page": 1, "par_page": 10, "rayon_km": 10,
                           "ouvert_maintenant": False, "ouvert_week_end": False,
                           "services": ["Aide aux démarches administratives"], "commune": None})
    in_radius = sum(1 for o in objs if haversine_km(*LYON, o.latitude, o.longitude) <= 10)
    assert result.total == in_radius and result.page_suivante is True
    assert len(result.resultats) == 10
    first = result.resultats[0]
    assert first.nom == first["nom"] and first.distance_km == first["distance_km"]
    assert getattr(first, "lieu", "absent") == "absent"  # missing keys are missing attributes
    # The API form does not count beyond the pages asked for.
    assert search_lieux(params(taille=10)).total is None


def test_total_with_opening_hours_filter():
    lieu(45.765, 4.836, horaires="24/7")
    lieu(45.766, 4.836, horaires="off")
    lieu(45.767, 4.836, horaires="24/7")
    result = search_lieux(params(taille=1, ouvert_maintenant=True, avec_total=True))
    assert result.total == 2 and len(result.resultats) == 1


def test_count_stops_past_what_a_search_can_list(monkeypatch):
    objs = bulk(random_lieux(40, centre=LYON, spread_km=3, seed=9))
    in_radius = sum(1 for o in objs if haversine_km(*LYON, o.latitude, o.longitude) <= 10)
    assert in_radius > 12
    exact = search_lieux(params(taille=5, avec_total=True))
    assert exact.total == in_radius and not exact.total_plafonne

    monkeypatch.setattr(search, "RESULTATS_MAX", 12)
    capped = search_lieux(params(taille=5, avec_total=True))
    assert capped.total == 12 and capped.total_plafonne
    assert ids(capped) == ids(exact)  # the page itself is unchanged
    assert search.page_fields(capped)["total"] is None  # never given as an exact count

    monkeypatch.setattr(search, "RESULTATS_MAX", in_radius)
    at_limit = search_lieux(params(taille=5, avec_total=True))
    assert at_limit.total == in_radius and not at_limit.total_plafonne
