"""Public pages of lieux with Django's test client, as a browser without JavaScript sees them:
the search (filters in the address, zero results, pagination), a lieu's page, the widget."""

import datetime
import json
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from mednum.lieux.models import Lieu, PositionPrecision
from mednum.lieux.views import Fiche, carte_statique
from tests.factories import CommuneFactory, DepartementFactory, RegionFactory, make_lieu
from tests.landmarks import duplicate_landmarks, landmark_names

pytestmark = pytest.mark.django_db

DEMARCHES = "Aide aux démarches administratives"
OUTILS = "Maîtrise des outils numériques du quotidien"
SETE = (43.4028, 3.6928)


@pytest.fixture
def sete():
    region = RegionFactory(code="76", nom="Occitanie", slug="occitanie")
    dep = DepartementFactory(code="34", nom="Hérault", slug="herault", region=region, chef_lieu="34172")
    CommuneFactory(
        code="34172", nom="Montpellier", slug="montpellier", codes_postaux=["34000"], population=300000,
        departement=dep, latitude=43.6107, longitude=3.8767,
    )
    return CommuneFactory(
        code="34301", nom="Sète", slug="sete", codes_postaux=["34200"], population=44000, departement=dep,
        latitude=SETE[0], longitude=SETE[1],
    )


def lieu_a(lat, lon, n=0, **values):
    values.setdefault("nom", f"Espace numérique {n}")
    values.setdefault("code_insee", "34301")
    values.setdefault("commune", "Sète")
    values.setdefault("code_postal", "34200")
    return make_lieu(source_id=f"sete-{n}-{lat}-{lon}", latitude=str(lat), longitude=str(lon), **values)


def text(response) -> str:
    """The page's visible text, tags removed, spaces collapsed (what a person reads)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(span|a|strong|b|em|abbr)\b[^>]*>", "", html)  # inline: no space of their own
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def result_names(response) -> list[str]:
    html = response.content.decode()
    return [unescape(name) for name in re.findall(r'<li class="lieux-resultat">\s*<h3[^>]*>\s*<a [^>]*>([^<]+)</a>', html)]


# --- search -------------------------------------------------------------------------------------


def test_search_page_without_place_invites_to_search(client, sete):
    response = client.get(reverse("lieux:recherche"))
    assert response.status_code == 200
    page = text(response)
    assert "Commune, code postal ou adresse" in page
    assert "Indiquez une commune" in page
    # Every filter group of the standard is there, as checkboxes with legends, in a GET form.
    html = response.content.decode()
    assert 'method="get"' in html
    for name in ("services", "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
                 "modalites_acces", "modalites_accompagnement", "dispositif_programmes_nationaux", "itinerance",
                 "ouvert_maintenant", "ouvert_week_end"):
        assert f'name="{name}"' in html
    assert '<option value="50"' in html
    assert "<legend" in html


def test_search_by_commune_code_sorted_by_distance(client, sete):
    far = lieu_a(43.43, 3.70, 1, nom="Médiathèque du Port")
    near = lieu_a(43.4030, 3.6930, 2, nom="Maison France Services")
    response = client.get(reverse("lieux:recherche"), {"commune": "34301"})
    assert response.status_code == 200
    assert result_names(response) == [near.nom, far.nom]
    page = text(response)
    assert "2 lieux à moins de 10 km de Sète (34200)" in page
    assert re.search(r"à \d+ m", page) and re.search(r"à \d,\d km", page)
    html = response.content.decode()
    assert 'role="status"' in html
    assert "openstreetmap.org/directions" in html
    assert reverse("lieux:detail", args=[f"{near.slug}-{near.pk}"]) in html


def test_search_says_plus_de_past_what_a_search_can_list(client, sete, monkeypatch):
    from mednum.lieux import search

    for n in range(24):
        lieu_a(43.4030 + n * 0.001, 3.6930, n)
    monkeypatch.setattr(search, "RESULTATS_MAX", 20)  # one page of 20
    response = client.get(reverse("lieux:recherche"), {"commune": "34301"})
    assert response.status_code == 200
    page = text(response)
    assert "Plus de 20 lieux à moins de 10 km de Sète (34200)" in page
    assert len(result_names(response)) == 20 and "page 1 sur" not in page
    monkeypatch.setattr(search, "RESULTATS_MAX", 40)
    page = text(client.get(reverse("lieux:recherche"), {"commune": "34301"}))
    assert "24 lieux à moins de 10 km" in page and "Plus de" not in page


def test_search_by_text_resolves_the_commune(client, sete):
    lieu_a(43.4030, 3.6930, 1, nom="Maison France Services")
    for q in ("Sète", "34200", "sete", "3 rue Gambetta 34200 Sète"):
        response = client.get(reverse("lieux:recherche"), {"q": q})
        assert result_names(response) == ["Maison France Services"], q
        assert "près de Sète (34200)" in text(response)


def test_search_by_address_starts_from_the_geocoded_point(client, sete, settings):
    from django.core.cache import cache

    from tests.fake_ban import FakeBanServer, ban_feature

    cache.clear()
    # Two lieux in Sète: the one near the commune's centre, and the one next to the address.
    lieu_a(43.4030, 3.6930, 1, nom="Maison France Services")
    lieu_a(43.3905, 3.6465, 2, nom="Médiathèque de la Corniche")
    corniche = ban_feature(43.3900, 3.6460, label="5 Rue de la Corniche 34200 Sète", citycode="34301", postcode="34200")
    with FakeBanServer({"corniche": corniche}) as ban:
        settings.MEDNUM_GEOCODER_URL = ban.url
        response = client.get(reverse("lieux:recherche"), {"q": "5 rue de la Corniche 34200 Sète"})
        assert result_names(response) == ["Médiathèque de la Corniche", "Maison France Services"]
        assert "de 5 Rue de la Corniche 34200 Sète" in text(response)
        # The geocoder cannot place it: the search starts from the commune, as without a geocoder.
        response = client.get(reverse("lieux:recherche"), {"q": "3 rue Inconnue 34200 Sète"})
        assert result_names(response) == ["Maison France Services", "Médiathèque de la Corniche"]
        assert "près de Sète (34200)" in text(response)
    assert [r["q"] for r in ban.requests] == ["5 rue de la Corniche 34200 Sète", "3 rue Inconnue 34200 Sète"]


def test_an_address_that_could_not_be_placed_says_so(client, sete, settings):
    """Without a geocoder (or when it cannot place the address), the search starts from the commune:
    the page says so, instead of measuring distances from the commune as if it were the address."""
    from tests.fake_ban import FakeBanServer

    lieu_a(43.4030, 3.6930, 1, nom="Maison France Services")
    settings.MEDNUM_GEOCODER_URL = ""
    response = client.get(reverse("lieux:recherche"), {"q": "3 rue Gambetta 34200 Sète"})
    assert result_names(response) == ["Maison France Services"]
    assert "L’adresse n’a pas pu être localisée : les distances sont comptées depuis le centre de Sète" in text(response)
    # Without a geocoder, the form does not suggest typing an address.
    assert "12 rue de la Mairie" not in text(response)
    assert "une adresse" not in text(client.get(reverse("lieux:recherche")))
    with FakeBanServer({}) as ban:
        settings.MEDNUM_GEOCODER_URL = ban.url
        response = client.get(reverse("lieux:recherche"), {"q": "3 rue Inconnue 34200 Sète"})
        assert "L’adresse n’a pas pu être localisée" in text(response)
        assert "12 rue de la Mairie" in text(response)
        # A commune typed as such is not an address that failed.
        assert "n’a pas pu être localisée" not in text(client.get(reverse("lieux:recherche"), {"q": "Sète"}))


def test_a_commune_named_like_a_street_is_not_geocoded(client, sete, settings):
    from tests.fake_ban import FakeBanServer

    CommuneFactory(code="80688", nom="Rue", slug="rue", codes_postaux=["80120"], population=3000,
                   departement=DepartementFactory(code="80", nom="Somme", slug="somme"),
                   latitude=50.27, longitude=1.67)
    with FakeBanServer({}) as ban:
        settings.MEDNUM_GEOCODER_URL = ban.url
        response = client.get(reverse("lieux:recherche"), {"q": "Rue"})
    assert "près de Rue (80120)" in text(response)
    assert ban.requests == []


@pytest.fixture
def paris():
    region = RegionFactory(code="11", nom="Île-de-France", slug="ile-de-france")
    dep = DepartementFactory(code="75", nom="Paris", slug="paris", region=region, chef_lieu="75056")
    codes = [f"750{n:02d}" for n in range(1, 21)] + ["75116"]
    paris = CommuneFactory(code="75056", nom="Paris", slug="paris", codes_postaux=codes, population=2100000,
                           departement=dep, latitude=48.85659, longitude=2.34292)
    centre = make_lieu(source_id="hdv", nom="Espace de l'Hôtel de Ville", code_insee="75056", commune="Paris",
                       code_postal="75004", latitude="48.8566", longitude="2.3430")
    quinzieme = make_lieu(source_id="peclet", nom="Espace Péclet", code_insee="75115", commune="Paris",
                          code_postal="75015", latitude="48.8416", longitude="2.2999")
    return paris, centre, quinzieme


@pytest.mark.parametrize("q", ["Paris 15", "Paris 15e", "paris 15ème arrondissement", "75015", "Paris 75015",
                               "15e arrondissement de Paris"])
def test_search_from_a_municipal_arrondissement(client, paris, q):
    """Paris, Lyon and Marseille are one commune each: « Paris 15 » used to find Aurillac (Cantal, 15000),
    « 75015 » Paris's town hall. The search now starts from the arrondissement itself."""
    _paris, centre, quinzieme = paris
    response = client.get(reverse("lieux:recherche"), {"q": q})
    assert result_names(response) == [quinzieme.nom, centre.nom], q
    page = text(response)
    assert "près de Paris 15e arrondissement (75015)" in page, q
    # The place is kept in the address when the box still shows its name (a new radius, a filter…).
    again = client.get(reverse("lieux:recherche"), {"q": "Paris 15e arrondissement (75015)", "commune": "75115",
                                                    "rayon": "5"})
    assert result_names(again) == [quinzieme.nom, centre.nom]
    assert '<input type="hidden" name="commune" value="75115">' in again.content.decode()
    assert result_names(client.get(reverse("lieux:recherche"), {"q": "Paris"})) == [centre.nom, quinzieme.nom]


def test_a_city_with_several_postal_codes_is_named_with_its_departement_or_the_code_typed(client, paris):
    """« Lieux près de Paris (75001) » named one arrondissement for the whole city."""
    assert "près de Paris (75)" in text(client.get(reverse("lieux:recherche"), {"q": "Paris"}))
    assert "près de Paris (75)" in text(client.get(reverse("lieux:recherche"), {"commune": "75056"}))
    # The box keeps the name, and sending it again keeps the commune.
    again = client.get(reverse("lieux:recherche"), {"q": "Paris (75)", "commune": "75056"})
    assert '<input type="hidden" name="commune" value="75056">' in again.content.decode()
    assert "près de Paris (75)" in text(again)
    # A postal code typed names the city with it.
    occitanie = RegionFactory(code="76", nom="Occitanie", slug="occitanie")
    CommuneFactory(code="31555", nom="Toulouse", slug="toulouse", codes_postaux=["31000", "31100", "31200"],
                   population=500000, latitude=43.6045, longitude=1.4442,
                   departement=DepartementFactory(code="31", nom="Haute-Garonne", slug="haute-garonne", region=occitanie))
    assert "près de Toulouse (31100)" in text(client.get(reverse("lieux:recherche"), {"q": "31100"}))
    assert "près de Toulouse (31)" in text(client.get(reverse("lieux:recherche"), {"q": "Toulouse"}))


def test_a_name_with_a_code_of_nowhere_finds_the_commune_by_its_name(client, sete):
    """« Sète 75 » used to find Paris (« 75 » alone); « 34 200 » (written as on envelopes) Montpellier."""
    lieu_a(43.4030, 3.6930, 1, nom="Maison France Services")
    for q in ("Sète 75", "34 200", "Sète 34 200"):
        response = client.get(reverse("lieux:recherche"), {"q": q})
        assert "près de Sète (34200)" in text(response), q
        assert result_names(response) == ["Maison France Services"], q


def test_a_commune_name_with_a_typing_slip_is_understood(client, sete):
    """« Montpelier » (one l) said « Aucune commune ne correspond »: the commune one slip away is taken,
    and the page says which, so the person sees what was understood."""
    response = client.get(reverse("lieux:recherche"), {"q": "Montpelier"})
    assert "Lieux de médiation numérique près de Montpellier (34000)" in text(response)


def test_a_small_commune_of_that_very_name_offers_the_bigger_ones_starting_with_it(client, sete):
    """« Aix » is a village of the Corrèze: it is taken (its exact name), and Aix-en-Provence is offered."""
    region = RegionFactory(code="93", nom="Provence-Alpes-Côte d'Azur", slug="paca")
    CommuneFactory(code="13001", nom="Aix-en-Provence", slug="aix-en-provence", codes_postaux=["13090"],
                   population=145000, departement=DepartementFactory(code="13", nom="Bouches-du-Rhône", region=region),
                   latitude=43.5297, longitude=5.4474)
    region = RegionFactory(code="75", nom="Nouvelle-Aquitaine", slug="nouvelle-aquitaine")
    CommuneFactory(code="19002", nom="Aix", slug="aix", codes_postaux=["19200"], population=320,
                   departement=DepartementFactory(code="19", nom="Corrèze", region=region),
                   latitude=45.6, longitude=2.4)
    page = text(client.get(reverse("lieux:recherche"), {"q": "Aix"}))
    assert "près d’Aix (19200)" in page
    assert "Vous cherchiez peut-être une autre commune : Aix-en-Provence (13)" in page
    # The biggest of its name is offered nothing smaller.
    assert "Vous cherchiez peut-être" not in text(client.get(reverse("lieux:recherche"), {"q": "Sète"}))


def test_a_departement_or_region_named_leads_to_its_lieux(client, sete):
    """« Hérault » searched around Clermont-l'Hérault (a commune whose name contains it); « Occitanie »
    found nothing. A département or a région is not a point to search around: its page of lieux is offered."""
    CommuneFactory(code="34079", nom="Clermont-l'Hérault", slug="clermont-l-herault", codes_postaux=["34800"],
                   population=9000, departement=sete.departement, latitude=43.627, longitude=3.432)
    departement = reverse("territoires_pages:departement", args=["herault"])
    for q in ("Hérault", "département de l’Hérault", "HERAULT"):
        response = client.get(reverse("lieux:recherche"), {"q": q})
        page, html = text(response), response.content.decode()
        assert "n’est pas le nom d’une commune" in page, q
        assert f'href="{departement}"' in html and "Hérault (département, 34)" in page, q
        assert "Vous cherchiez peut-être une de ces communes : Clermont-l'Hérault (34)" in page, q
        assert not result_names(response), q
    page = text(client.get(reverse("lieux:recherche"), {"q": "Occitanie"}))
    assert "Tous les lieux du territoire : Occitanie (région)" in page
    # A département's code is also a postal code's beginning: the biggest commune, and the département.
    lieu_a(43.4030, 3.6930, 1, nom="Maison France Services")
    page = text(client.get(reverse("lieux:recherche"), {"q": "34"}))
    assert "près de Montpellier (34000)" in page and "Hérault (département, 34)" in page
    assert "Tous les lieux du territoire" not in text(client.get(reverse("lieux:recherche"), {"q": "Sète"}))
    # In a partner's page (widget), the territory's page opens in a new window, as the lieux do.
    html = client.get(reverse("widget:recherche"), {"q": "Hérault"}).content.decode()
    assert f'href="{departement}" target="_blank" rel="noopener"' in html


def test_unknown_text_says_so(client, sete):
    response = client.get(reverse("lieux:recherche"), {"q": "Zzyzx"})
    assert response.status_code == 200
    assert "Aucune commune ne correspond à « Zzyzx »" in text(response)


def test_search_by_position(client, sete):
    lieu_a(43.4030, 3.6930, 1, nom="Maison France Services")
    response = client.get(reverse("lieux:recherche"), {"lat": "43.40", "lon": "3.69"})
    assert result_names(response) == ["Maison France Services"]
    assert "de votre position" in text(response)


def test_filters_in_the_address_give_the_right_lieux(client, sete):
    lieu_a(43.4030, 3.6930, 1, nom="Démarches et outils", services=f"{DEMARCHES}|{OUTILS}", frais_a_charge="Gratuit")
    lieu_a(43.4031, 3.6931, 2, nom="Outils seulement", services=OUTILS, frais_a_charge="Gratuit")
    lieu_a(43.4032, 3.6932, 3, nom="Démarches payantes", services=DEMARCHES, frais_a_charge="Payant")
    url = reverse("lieux:recherche")
    response = client.get(url, {"commune": "34301", "services": DEMARCHES})
    assert sorted(result_names(response)) == ["Démarches et outils", "Démarches payantes"]
    # The checkbox stays checked, and a second filter narrows the results (AND across fields).
    assert re.search(r'name="services" value="Aide aux démarches administratives" checked', unescape(response.content.decode()))
    response = client.get(url + "?" + urlencode([("commune", "34301"), ("services", DEMARCHES), ("frais_a_charge", "Gratuit")]))
    assert result_names(response) == ["Démarches et outils"]
    assert "avec 2 filtres" in text(response)


def test_criteria_of_the_address_that_cannot_be_used_are_named(client, sete):
    """A link shared with a service that no longer exists (or a hand-edited address) gave unfiltered
    results without a word."""
    lieu_a(43.4030, 3.6930, 1, nom="Démarches", services=DEMARCHES)
    lieu_a(43.4031, 3.6931, 2, nom="Outils", services=OUTILS)
    url = reverse("lieux:recherche")
    response = client.get(url + "?" + urlencode([("commune", "34301"), ("services", "Jonglage"), ("services", DEMARCHES),
                                                 ("rayon", "10000")]))
    assert result_names(response) == ["Démarches"]  # the known service still filters
    notice = text(response).split("n’ont pas été compris", 1)[1][:400]
    assert "Services proposés : « Jonglage », qui n’existe pas (ou plus)" in notice
    assert "Le rayon « 10000 » : il est de 10 km" in notice
    response = client.get(url, {"lat": "95", "lon": "3.69"})
    assert "La position (lat et lon) : illisible ou hors du globe" in text(response)
    assert "n’ont pas été compris" not in text(client.get(url, {"commune": "34301", "services": DEMARCHES}))


def test_open_now_filter(client, sete):
    lieu_a(43.4030, 3.6930, 1, nom="Toujours ouvert", horaires="24/7")
    lieu_a(43.4031, 3.6931, 2, nom="Jamais ouvert", horaires="off")
    response = client.get(reverse("lieux:recherche"), {"commune": "34301", "ouvert_maintenant": "1"})
    assert result_names(response) == ["Toujours ouvert"]
    assert "Ouvert 24 h/24" in text(response)


def test_nothing_open_now_offers_to_see_every_lieu(client, sete):
    lieu_a(43.4031, 3.6931, 2, nom="Jamais ouvert", horaires="off")
    response = client.get(reverse("lieux:recherche"), {"commune": "34301", "ouvert_maintenant": "1"})
    assert result_names(response) == []
    assert "Aucun lieu n’est ouvert à ce moment dans ce rayon" in text(response)
    assert 'href="?commune=34301">Voir tous les lieux, ouverts ou non' in response.content.decode()
    assert "Élargir la recherche" not in text(response)


def test_zero_results_suggest_a_wider_radius_with_a_link(client, sete):
    lieu_a(43.55, 3.69, 1, nom="Un peu plus loin")  # ≈ 16 km north of Sète
    response = client.get(reverse("lieux:recherche"), {"commune": "34301", "rayon": "10"})
    page = text(response)
    assert "Aucun lieu à moins de 10 km de Sète (34200)" in page
    html = unescape(response.content.decode())
    link = re.search(r'<a href="(\?[^"]*)">Élargir la recherche à 20 km</a>', html)
    assert link, html
    assert "rayon=20" in link.group(1) and "commune=34301" in link.group(1)
    # The map, which shows its whole view, is told that the list is empty within 10 km (its count then
    # says the lieux it shows are farther away); not when the list has lieux.
    assert 'data-liste-vide-km="10"' in html
    response = client.get(reverse("lieux:recherche") + link.group(1))
    assert result_names(response) == ["Un peu plus loin"]
    assert 'data-liste-vide-km=""' in response.content.decode()


def test_pagination(client, sete):
    for n in range(45):
        lieu_a(43.4028 + n * 0.0005, 3.6928, n, nom=f"Lieu {n:02d}")
    url = reverse("lieux:recherche")
    first = client.get(url, {"commune": "34301"})
    assert result_names(first) == [f"Lieu {n:02d}" for n in range(20)]
    assert "45 lieux" in text(first) and "page 1 sur 3" in text(first)
    html = unescape(first.content.decode())
    assert 'fr-pagination__list' in html and 'aria-current="page"' in html
    next_link = re.search(r'href="(\?[^"]*page=2[^"]*)"', html).group(1)
    assert "commune=34301" in next_link
    second = client.get(url + next_link)
    assert result_names(second) == [f"Lieu {n:02d}" for n in range(20, 40)]
    third = client.get(url, {"commune": "34301", "page": "3"})
    assert result_names(third) == [f"Lieu {n:02d}" for n in range(40, 45)]
    # A page beyond the last shows the first one rather than an error.
    assert result_names(client.get(url, {"commune": "34301", "page": "99"}))[0] == "Lieu 00"


def test_week_table_keeps_each_period_whole_and_lets_comments_wrap(client, sete):
    """A period is never broken across lines (`lieux-horaires__plage`, no wrapping); a day's comment is
    free text, which may be long: it wraps. Today's row is marked."""
    from zoneinfo import ZoneInfo

    from mednum.lieux.hours import FUSEAU_PAR_DEFAUT, JOURS

    def jour():
        return JOURS[datetime.datetime.now(ZoneInfo(FUSEAU_PAR_DEFAUT)).weekday()]

    commentaire = "sur rendez-vous uniquement, appeler la veille avant midi"
    lieu = lieu_a(43.4030, 3.6930, 1, horaires=f'Mo 09:00-12:00,14:00-18:00 "apporter une pièce"; We "{commentaire}"')
    avant = jour()  # the day read before and after the request, in case midnight passed
    html = unescape(client.get(reverse("lieux:detail", args=[f"{lieu.slug}-{lieu.pk}"])).content.decode())
    jours = {avant, jour()}
    cells = re.findall(r"<td>(.*?)</td>", html.split('class="fr-table__content"', 1)[1])
    assert cells[0] == ('<span class="lieux-horaires__plage">09:00 – 12:00</span>, '
                        '<span class="lieux-horaires__plage">14:00 – 18:00</span> (apporter une pièce)')
    assert cells[1] == "Fermé"
    assert cells[2] == "Sur rendez-vous uniquement, appeler la veille avant midi"
    today = re.findall(r'<tr class="lieux-horaires__aujourdhui"><th scope="row">(\w+) <span[^>]*>\(aujourd’hui\)', html)
    assert len(today) == 1 and today[0].lower() in jours, today


def test_map_gets_the_same_filters(client, sete):
    response = client.get(reverse("lieux:recherche"), {"commune": "34301", "services": DEMARCHES})
    html = unescape(response.content.decode())
    assert 'id="carte"' in html and "hidden" in html
    assert 'data-filtres="services=Aide+aux+d%C3%A9marches+administratives"' in html
    assert 'data-rayon-km="10"' in html
    assert "le cercle bleu marque la distance choisie (10 km)" in html
    assert 'aria-label="Carte des lieux de médiation numérique"' in html
    # Another distance, the same circle's.
    html = unescape(client.get(reverse("lieux:recherche"), {"commune": "34301", "rayon": "20"}).content.decode())
    assert 'data-rayon-km="20"' in html and "(20 km)" in html


def test_map_without_a_search_has_no_circle(client, sete):
    html = unescape(client.get(reverse("lieux:recherche")).content.decode())
    assert 'data-rayon-km=""' in html
    assert "La carte reprend la liste des résultats ci-dessus ; à l’échelle de la France" in html


def test_merged_lieux_are_not_listed(client, sete):
    survivor = lieu_a(43.4030, 3.6930, 1, nom="Survivant")
    merged = lieu_a(43.4031, 3.6931, 2, nom="Doublon")
    Lieu.objects.filter(pk=merged.pk).update(fusionne_dans=survivor)
    response = client.get(reverse("lieux:recherche"), {"commune": "34301"})
    assert result_names(response) == ["Survivant"]


# --- a lieu's page ------------------------------------------------------------------------------


def detail_url(lieu):
    return reverse("lieux:detail", args=[f"{lieu.slug}-{lieu.pk}"])


def test_lieu_page_in_plain_words(client, sete):
    lieu = lieu_a(
        43.4030, 3.6930, 1,
        nom="Maison France Services de Sète",
        typologie="MUNI|BIB",
        adresse="2 rue Paul Valéry",
        complement_adresse="Rez-de-chaussée",
        telephone="+33467000000",
        courriels="contact@sete.example.fr",
        site_web="https://www.sete.example.fr/numerique",
        horaires="Mo-Fr 09:00-12:00,14:00-18:00",
        services=f"{DEMARCHES}|{OUTILS}",
        publics_specifiquement_adresses="Seniors",
        prise_en_charge_specifique="Surdité",
        frais_a_charge="Gratuit",
        modalites_acces="Se présenter|Prendre un RDV en ligne",
        modalites_accompagnement="Accompagnement individuel",
        dispositif_programmes_nationaux="France Services",
        formations_labels="Formé à « Mon Espace Santé »",
        fiche_acces_libre="https://acceslibre.beta.gouv.fr/app/exemple/",
        prise_rdv="https://rdv.example.fr/sete",
        presentation_resume="Un lieu pour tous.",
        presentation_detail="Première ligne <script>alert(1)</script><b>gras</b>\nDeuxième ligne",
        date_maj=datetime.date.today().isoformat(),
    )
    response = client.get(detail_url(lieu))
    assert response.status_code == 200
    page = text(response)
    for expected in (
        "Maison France Services de Sète",
        "Municipalité · Bibliothèque / Médiathèque",
        "2 rue Paul Valéry", "Rez-de-chaussée", "34200 Sète",
        "04 67 00 00 00", "contact@sete.example.fr", "www.sete.example.fr/numerique",
        DEMARCHES, "Seniors", "Surdité", "Gratuit", "Se présenter sur place",
        "Prendre rendez-vous en ligne", "Accompagnement individuel", "France Services",
        "Voir les informations d’accessibilité sur Accès libre",
        "Horaires", "Lundi", "09:00 – 12:00, 14:00 – 18:00", "Dimanche", "Fermé",
        "Dernière mise à jour le", "Fiche complète à", "Imprimer la fiche", "Signaler une erreur",
        "Partager par courriel",
    ):
        assert expected in page, expected
    # Field names of the standard are never shown.
    for name in ("modalites_acces", "prise_en_charge_specifique", "frais_a_charge", "MUNI"):
        assert name not in page
    html = response.content.decode()
    assert 'href="tel:+33467000000"' in html
    assert 'href="mailto:contact@sete.example.fr"' in html
    assert 'href="https://rdv.example.fr/sete"' in html
    assert 'href="https://acceslibre.beta.gouv.fr/app/exemple/"' in html
    # Presentation: no raw HTML from the source, line breaks kept.
    assert "<script>alert" not in html and "<b>gras" not in html
    assert re.search(r"Première ligne\s+gras<br>Deuxième ligne", html)
    assert "Donnée de démonstration" not in page
    assert "Informations peut-être anciennes" not in page


def test_lieu_page_with_a_stored_web_address_python_cannot_read(client, sete):
    """An address stored before the import checked hosts (« ／ » reads as « / » once NFKC-normalised, which
    `urlsplit` refuses): the page shows, without a link to it, instead of answering 500."""
    lieu = lieu_a(43.4030, 3.6930, 1, nom="Espace numérique", modalites_acces="Prendre un RDV en ligne")
    Lieu.objects.filter(pk=lieu.pk).update(
        site_web="https://ex\uff0fample.fr|https://www.sete.example.fr", prise_rdv="https://ex\uff0fample.fr/rdv",
        fiche_acces_libre="https://a\u2101b.fr",
    )
    response = client.get(detail_url(lieu))
    assert response.status_code == 200
    html = response.content.decode()
    assert "\uff0f" not in html and "\u2101" not in html
    assert 'href="https://www.sete.example.fr"' in html  # the readable address is still linked


def test_json_ld_parses(client, sete):
    lieu = lieu_a(43.4030, 3.6930, 1, nom="Lieu </script> étrange", telephone="+33467000000",
                  horaires="Mo-Fr 09:00-18:00", site_web="https://lieu.example.fr")
    html = client.get(detail_url(lieu)).content.decode()
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "LocalBusiness"
    assert data["name"] == "Lieu </script> étrange"
    assert data["address"]["postalCode"] == "34200" and data["address"]["addressLocality"] == "Sète"
    assert data["geo"]["latitude"] == pytest.approx(43.4030)
    assert data["openingHours"] == "Mo-Fr 09:00-18:00"
    assert data["telephone"] == "+33467000000"
    assert data["url"].endswith(detail_url(lieu))


def test_json_ld_leaves_out_hours_that_cannot_be_read(client, sete):
    lieu = lieu_a(43.4030, 3.6930, 1, horaires="Mo-Fr 25:00-26:00")
    html = client.get(detail_url(lieu)).content.decode()
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S).group(1))
    assert data["name"] and "openingHours" not in data


def test_warning_when_older_than_one_year(client, sete):
    old = lieu_a(43.4030, 3.6930, 1, date_maj="2024-03-12")
    page = text(client.get(detail_url(old)))
    assert "Dernière mise à jour le 12 mars 2024" in page
    assert "Informations peut-être anciennes" in page
    assert 'fr-alert--warning' in client.get(detail_url(old)).content.decode()


def test_sources_listed_with_their_dates(client, sete):
    lieu = lieu_a(43.4030, 3.6930, 1, date_maj="2025-01-05")
    record = lieu.source_records.get()
    page = text(client.get(detail_url(lieu)))
    assert f"{record.source}, mise à jour le 5 janvier 2025" in page


def test_merged_lieu_redirects_permanently_to_the_survivor(client, sete):
    survivor = lieu_a(43.4030, 3.6930, 1, nom="Survivant")
    merged = lieu_a(43.4031, 3.6931, 2, nom="Doublon")
    Lieu.objects.filter(pk=merged.pk).update(fusionne_dans=survivor)
    response = client.get(reverse("lieux:detail", args=[f"{merged.slug}-{merged.pk}"]))
    assert response.status_code == 301
    assert response["Location"] == detail_url(survivor)


def test_lieu_by_id_or_old_slug_redirects_to_the_canonical_address(client, sete):
    lieu = lieu_a(43.4030, 3.6930, 1)
    for ref in (str(lieu.pk), f"ancien-nom-{lieu.pk}"):
        response = client.get(reverse("lieux:detail", args=[ref]))
        assert response.status_code == 301 and response["Location"] == detail_url(lieu)
    assert client.get(reverse("lieux:detail", args=["999999"])).status_code == 404
    assert client.get(reverse("lieux:detail", args=["pas-un-lieu"])).status_code == 404


def test_invalid_hours_shown_as_given(client, sete):
    lieu = lieu_a(43.4030, 3.6930, 1, horaires="lundi matin sauf exception")
    page = text(client.get(detail_url(lieu)))
    assert "Horaires tels qu’indiqués par la source : lundi matin sauf exception" in page
    assert "Lundi Fermé" not in page


def test_demo_badge_and_approximate_position(client, sete):
    lieu = make_lieu(source_id="demo-1", est_demo=True, nom="Lieu fictif", code_insee="34301", commune="Sète",
                     code_postal="34200", latitude="43.4028", longitude="3.6928")
    Lieu.objects.filter(pk=lieu.pk).update(position_precision=PositionPrecision.COMMUNE)
    response = client.get(detail_url(lieu))
    page = text(response)
    assert "Donnée de démonstration" in page
    assert "Position approximative" in page
    assert "<svg" in response.content.decode()


def test_missing_fields_listed_for_managers_only(client, sete, django_user_model):
    lieu = lieu_a(43.4030, 3.6930, 1, site_web="", fiche_acces_libre="", prise_rdv="")
    fiche = Fiche(lieu)
    assert 0 < fiche.completude < 100
    assert "le site internet" in fiche.manquants
    page = text(client.get(detail_url(lieu)))
    assert f"Fiche complète à {fiche.completude} %" in page
    assert "Informations manquantes" not in page
    admin = django_user_model.objects.create_superuser(email="admin@example.fr", password="mot de passe solide 42")
    client.force_login(admin)
    page = text(client.get(detail_url(lieu)))
    assert "Informations manquantes" in page and "le site internet" in page


def test_print_css_and_report_page(client, sete):
    lieu = lieu_a(43.4030, 3.6930, 1)
    html = client.get(detail_url(lieu)).content.decode()
    assert 'id="fiche-imprimer"' in html and "lieux/fiche.js" in html and "lieux/lieux.css" in html
    response = client.get(reverse("lieux:signaler", args=[f"{lieu.slug}-{lieu.pk}"]))
    assert response.status_code == 200
    assert "Le formulaire arrive bientôt" in text(response)


def test_static_map_of_the_departement():
    svg = carte_statique("34", *SETE)
    assert svg and svg["path"].startswith("M") and 0 < float(svg["x"]) < svg["width"]
    assert carte_statique("XX", *SETE) is None


# --- widget -------------------------------------------------------------------------------------


def test_widget_is_frameable_and_has_no_header(client, sete):
    lieu_a(43.4030, 3.6930, 1, nom="Maison France Services")
    response = client.get(reverse("widget:recherche"), {"commune": "34301"})
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert result_names(response) == ["Maison France Services"]
    html = response.content.decode()
    assert "fr-header" not in html and "fr-footer" not in html
    assert f'action="{reverse("widget:recherche")}"' in html
    # Other pages keep the site-wide protection.
    assert client.get(reverse("lieux:recherche"))["X-Frame-Options"] == "DENY"


def test_widget_by_departement(client, sete):
    lieu_a(43.6107, 3.8767, 1, nom="Lieu à Montpellier", code_insee="34172", commune="Montpellier", code_postal="34000")
    response = client.get(reverse("widget:recherche"), {"departement": "34"})
    assert result_names(response) == ["Lieu à Montpellier"]


def test_widget_documentation_shows_the_iframe_code(client, sete):
    response = client.get(reverse("widget:integrer"))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert '<iframe src="http://testserver/widget?commune=34301"' in html
    assert "title=" in html


def test_each_landmark_of_the_search_and_lieu_pages_has_its_own_name(client, sete):
    """Two landmarks of the same kind named alike cannot be told apart in a screen reader's list."""
    lieu = lieu_a(43.4030, 3.6930, 1, horaires="Mo-Fr 09:00-18:00", services="Aide aux démarches administratives")
    for url in ("/", reverse("lieux:recherche") + "?commune=34301", reverse("lieux:recherche") + "?commune=34301&vue=carte",
                detail_url(lieu)):
        response = client.get(url, follow=True)
        assert response.status_code == 200
        html = response.content.decode()
        assert ("navigation", "Menu principal") in landmark_names(html)
        assert duplicate_landmarks(html) == [], url


def test_a_commune_without_position_leads_to_its_lieux_not_to_a_dead_end(client, sete):
    """94 communes (Nouvelle-Calédonie, Polynésie, Wallis-et-Futuna, Saint-Pierre-et-Miquelon, TAAF)
    have no position in the reference data: the search said « indiquez lat et lon »."""
    from tests.factories import CommuneFactory, DepartementFactory, RegionFactory

    com = RegionFactory(code="COM", nom="Polynésie française", slug="polynesie-francaise")
    dep = DepartementFactory(code="987", nom="Polynésie française", slug="polynesie", region=com)
    CommuneFactory(code="98714", nom="Bora-Bora", slug="bora-bora-98714", codes_postaux=["98730"],
                   departement=dep, region=com, latitude=None, longitude=None)
    response = client.get(reverse("lieux:recherche"), {"commune": "98714"})
    page = text(response)
    assert response.status_code == 200
    assert "lat et lon" not in page
    assert "La position de Bora-Bora n’est pas connue" in page
    assert "Indiquez une commune" not in page  # a commune was chosen
    assert 'href="/territoires/communes/bora-bora-98714/"' in response.content.decode()
    # An address there: one notice only (the position is unknown, not « counted from the centre »).
    page = text(client.get(reverse("lieux:recherche"), {"q": "12 rue du Port 98730 Bora-Bora"}))
    assert "La position de Bora-Bora n’est pas connue" in page and "n’a pas pu être localisée" not in page
    commune_page = client.get("/territoires/communes/bora-bora-98714/")
    assert "Chercher les lieux autour" not in text(commune_page)
    assert "Polynésie française, Polynésie française" not in text(commune_page)


def test_an_unknown_commune_code_says_so(client, sete):
    page = text(client.get(reverse("lieux:recherche"), {"commune": "99999"}))
    assert "Aucune commune ne porte le code 99999" in page


def test_phone_to_call_is_written_as_people_write_it(client, sete):
    """« Pour y accéder : Téléphoner » showed « +33467000000 » where the contact block wrote the number in pairs."""
    lieu = lieu_a(43.4030, 3.6930, 1, telephone="+33467000001", modalites_acces="Téléphoner")
    page = text(client.get(detail_url(lieu)))
    assert "Téléphoner : 04 67 00 00 01" in page
    assert "+33467000001" not in page


@pytest.mark.parametrize(("nom", "attendu"), [
    ("Sète (34200)", "de Sète (34200)"), ("Aurillac (15000)", "d’Aurillac (15000)"),
    ("Le Havre (76600)", "du Havre (76600)"), ("Les Abymes (97139)", "des Abymes (97139)"),
    ("Évry-Courcouronnes (91000)", "d’Évry-Courcouronnes (91000)"), ("La Rochelle (17000)", "de La Rochelle (17000)"),
    ("Hyères (83400)", "de Hyères (83400)"), ("votre position", "de votre position"),
])
def test_de_before_a_place_name(nom, attendu):
    from mednum.lieux.templatetags.lieux_tags import de

    assert de(nom) == attendu


def test_search_page_elides_de_before_a_vowel(client, sete):
    from tests.factories import CommuneFactory

    CommuneFactory(code="15014", nom="Aurillac", slug="aurillac", codes_postaux=["15000"], latitude=44.93,
                   longitude=2.44, departement=sete.departement, region=sete.region)
    page = text(client.get(reverse("lieux:recherche"), {"commune": "15014"}))
    assert "près d’Aurillac (15000)" in page and "km d’Aurillac (15000)" in page
    assert "de Aurillac" not in page
