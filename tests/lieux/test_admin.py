"""The lieux admin: what a moderator may save."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from mednum.lieux.models import Lieu
from tests.factories import UserFactory, make_lieu

pytestmark = pytest.mark.django_db


def admin_form(lieu: Lieu, **changes):
    """The lieu admin's own form, bound to the lieu's values with `changes`."""
    model_admin = admin.site._registry[Lieu]
    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    form_class = model_admin.get_form(request, lieu)
    data = {name: field.prepare_value(getattr(lieu, name) if hasattr(lieu, name) else field.initial)
            for name, field in form_class.base_fields.items()}
    data = {name: ("" if value is None else value) for name, value in data.items()}
    data.update(changes)
    return form_class(data=data, instance=lieu)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("latitude", "1e308", "La latitude est comprise entre -90 et 90."),
    ("latitude", "-91", "La latitude est comprise entre -90 et 90."),
    ("longitude", "181", "La longitude est comprise entre -180 et 180."),
    ("longitude", "-1e308", "La longitude est comprise entre -180 et 180."),
])
def test_admin_form_refuses_a_position_off_the_globe(field, value, message):
    """The form used to accept any finite number; on PostgreSQL one such point overflowed the GiST
    index's boxes, and other lieux could no longer be written."""
    lieu = make_lieu(nom="Espace", latitude="43.40", longitude="3.69")
    form = admin_form(lieu, **{field: value})
    assert not form.is_valid()
    assert message in form.errors[field]
    assert admin_form(lieu, latitude="43.5", longitude="3.7").is_valid(), admin_form(lieu).errors


@pytest.mark.parametrize(("latitude", "longitude"), [(1e308, 3.69), (43.4, -1e308), (90.5, 0), (0, 180.5)])
def test_database_refuses_a_position_off_the_globe(latitude, longitude):
    """Every path, not only forms: the table has a CHECK constraint."""
    lieu = make_lieu(nom="Espace", latitude="43.40", longitude="3.69")
    with pytest.raises(IntegrityError), transaction.atomic():
        Lieu.objects.filter(pk=lieu.pk).update(latitude=latitude, longitude=longitude)
    Lieu.objects.filter(pk=lieu.pk).update(latitude=None, longitude=None)  # no position is fine
    Lieu.objects.filter(pk=lieu.pk).update(latitude=-90, longitude=180)  # the limits are on the globe
    make_lieu(nom="Autre", latitude="43.41", longitude="3.70")  # other lieux are still written


# --- what a moderator saves is what an import would have stored --------------------------------------


@pytest.fixture
def montpellier(db):
    from tests.factories import CommuneFactory

    return CommuneFactory(code="34172", nom="Montpellier", codes_postaux=["34000", "34070", "34080"],
                          latitude=43.61, longitude=3.87)


def _save_through_admin(client, lieu: Lieu, **changes):
    """POST the lieu's admin change page with `changes` (model field names), as a moderator would."""
    from tests.factories import SuperUserFactory

    client.force_login(SuperUserFactory())
    form = admin_form(lieu, **changes)
    data = {name: value for name, value in form.data.items()}
    data.update({"source_records-TOTAL_FORMS": "0", "source_records-INITIAL_FORMS": "0",
                 "source_records-MIN_NUM_FORMS": "0", "source_records-MAX_NUM_FORMS": "1000"})
    return client.post(f"/admin/lieux/lieu/{lieu.pk}/change/", data)


def test_a_service_added_in_the_admin_is_found_by_the_search_filter(client, montpellier):
    """The filters read bit masks computed from the lists; a moderator's edit used to leave them as
    they were, so the lieu stayed out of the results for the service just added."""
    from mednum.lieux import search
    from mednum.standard import schema

    lieu = make_lieu(nom="Espace", services="Maîtrise des outils numériques du quotidien")
    response = _save_through_admin(client, lieu, services="Aide aux démarches administratives")
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert lieu.services == "Aide aux démarches administratives"
    assert lieu.services_mask == schema.mask_of("services", ["Aide aux démarches administratives"])
    found = search.search_lieux({"lat": "43.6107", "lon": "3.8767", "services": "Aide aux démarches administratives"})
    assert [item["id"] for item in found.resultats] == [lieu.pk]


def test_the_admin_stores_values_as_an_import_would(client, montpellier):
    """Phones, e-mails, lists and postcodes typed in the admin are written in the standard's form, so
    that the export of an edited lieu imports back unchanged."""
    from mednum.lieux import export
    from mednum.standard.communes import CommuneIndex
    from mednum.standard.normalise import Normaliser

    lieu = make_lieu(nom="Espace")
    response = _save_through_admin(
        client, lieu, telephone="04 67 00 00 01", courriels="Accueil@Mediatheque.example.fr",
        services="aide aux demarches administratives|Maîtrise des outils numériques du quotidien",
        frais_a_charge="gratuit", commune_nom="Montpellier",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert lieu.telephone == "+33467000001"
    assert lieu.services == "Aide aux démarches administratives|Maîtrise des outils numériques du quotidien"
    assert lieu.frais_a_charge == "Gratuit"
    assert lieu.commune_id == "34172"
    (row,) = export.standard_rows(Lieu.objects.filter(pk=lieu.pk))
    from mednum.standard import schema

    exported = dict(zip(schema.field_names(), row, strict=True))
    again = Normaliser(communes=CommuneIndex.from_db()).normalise(exported)
    assert again.errors == []
    assert {name: again.values[name] for name in exported if name != "pivot"} == {
        name: value for name, value in exported.items() if name != "pivot"
    }


def test_invisible_and_bidirectional_characters_typed_in_the_admin_are_not_stored(client, montpellier):
    lieu = make_lieu(nom="Espace")
    response = _save_through_admin(client, lieu, nom="Mairie\u202e annexe\u200b", id_standard="lieu-\ufeff42")
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert (lieu.nom, lieu.id_standard) == ("Mairie annexe", "lieu-42")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("services", "Cours de cuisine", "valeur inconnue"),
    ("code_postal", "ABCDE", "code postal invalide"),
    ("telephone", "pas de téléphone", "numéro de téléphone illisible"),
    ("courriels", "accueil-at-example", "adresse électronique invalide"),
    ("nom", "   ", "obligatoire"),
])
def test_the_admin_form_says_what_the_import_would_refuse_or_drop(montpellier, field, value, message):
    """A value an import would reject, or drop with a warning, is a form error on its field: nothing the
    moderator typed is silently changed away."""
    lieu = make_lieu(nom="Espace")
    form = admin_form(lieu, **{field: value})
    assert not form.is_valid()
    assert any(message in error.lower() for error in form.errors[field]), form.errors


def test_the_admin_form_leaves_alone_what_the_moderator_did_not_touch(montpellier):
    """Warnings about values already stored (no pivot, here) do not stop an edit of another field."""
    lieu = make_lieu(nom="Espace", pivot="")
    form = admin_form(lieu, nom="Espace numérique")
    assert form.is_valid(), form.errors


def test_an_edited_commune_and_position_are_linked_and_marked(client, montpellier):
    """The commune link follows the INSEE code found by the normaliser, and a position typed by hand is
    a position given for the lieu (no longer « à l'adresse »)."""
    from mednum.lieux.models import PositionPrecision
    from tests.factories import CommuneFactory

    CommuneFactory(code="34301", nom="Sète", codes_postaux=["34200"], latitude=43.40, longitude=3.69)
    lieu = make_lieu(nom="Espace")
    Lieu.objects.filter(pk=lieu.pk).update(position_precision=PositionPrecision.ADRESSE)
    lieu.refresh_from_db()
    response = _save_through_admin(client, lieu, commune_nom="Sète", code_postal="34200", code_insee="",
                                   latitude="43.4015", longitude="3.6960")
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert (lieu.commune_id, lieu.code_insee) == ("34301", "34301")
    assert (lieu.latitude, lieu.longitude) == (43.4015, 3.696)
    assert lieu.position_precision == PositionPrecision.SOURCE


def test_a_warning_about_a_value_kept_as_typed_does_not_stop_the_edit(montpellier):
    """« Pivot non renseigné » informs: clearing a pivot by hand is allowed, an unreadable one is not."""
    lieu = make_lieu(nom="Espace", pivot="21340172200014")
    assert admin_form(lieu, pivot="").is_valid(), admin_form(lieu, pivot="").errors
    form = admin_form(lieu, pivot="SIRET 123")
    assert not form.is_valid()
    assert "pivot" in form.errors


def test_a_position_far_from_the_commune_is_saved_with_a_warning(client, montpellier):
    """A position typed 215 km from the commune was saved without a word; the import warns about it."""
    lieu = make_lieu(nom="Espace")
    response = _save_through_admin(client, lieu, latitude="43.61", longitude="1.0")
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert (lieu.latitude, lieu.longitude) == (43.61, 1.0)
    page = client.get(response["Location"]).content.decode()
    assert "km de la commune Montpellier : à vérifier" in page


def test_hours_typed_by_hand_must_be_readable(montpellier):
    lieu = make_lieu(nom="Espace", horaires="Mo-Fr 25:00-26:00")
    form = admin_form(lieu, horaires="Mo-Fr 25:00-26:00; Sa 09:00-12:00")
    assert not form.is_valid()
    assert any("OpenStreetMap" in error for error in form.errors["horaires"]), form.errors
    assert admin_form(lieu, horaires="Mo-Fr 09:00-12:00").is_valid()
    assert admin_form(lieu, nom="Espace numérique").is_valid()  # hours already stored, not edited: left alone


@pytest.mark.parametrize("nom", ["<b>NaN</b>", "Montpellier", "Frontignan"])
def test_a_commune_name_that_is_not_the_commune_found_is_said(client, montpellier, nom):
    """The commune is found by its postcode alone when the name matches none: « <b>NaN</b> » was saved
    without a word and shown as the commune of a lieu of Sète. It is said after saving (not refused:
    sources name former communes, « Meythet - Annecy »)."""
    from tests.factories import CommuneFactory

    CommuneFactory(code="34301", nom="Sète", codes_postaux=["34200"], latitude=43.40, longitude=3.69)
    lieu = make_lieu(nom="Espace", commune="Sète", code_postal="34200", code_insee="34301",
                     latitude="43.40", longitude="3.69")
    form = admin_form(lieu, commune_nom=nom)
    assert form.is_valid(), form.errors
    assert any("n'est pas le nom de la commune trouvée" in notice for notice in form.edit.notices["commune_nom"])
    for accepted in ("SETE", "Sète (34)", "Sete Cedex"):
        form = admin_form(lieu, commune_nom=accepted)
        assert form.is_valid() and "commune_nom" not in form.edit.notices, (accepted, form.edit.notices)
    response = _save_through_admin(client, lieu, commune_nom=nom)
    assert response.status_code == 302
    assert "(Sète, 34301) : à vérifier" in client.get(response["Location"]).content.decode().replace("&#x27;", "'")


def test_every_real_lieu_can_be_saved_unchanged_in_the_admin(db):
    """The admin's check accepts what the import stored for the two real sources (and what the merge of
    their duplicates made), with their communes: a moderator is never blocked by a field they did not make
    wrong, even when every field counts as edited."""
    import json

    from mednum.imports import engine
    from mednum.lieux import edition
    from mednum.lieux.dedup import run_dedup
    from mednum.standard.communes import CommuneIndex
    from tests.lieux.test_export import source_file

    extract = Path(__file__).resolve().parents[1] / "standard" / "fixtures" / "communes-extrait.json"
    communes = CommuneIndex.from_records(json.loads(extract.read_text(encoding="utf-8")))
    mapping = Path(__file__).resolve().parents[2] / "mednum" / "imports" / "mappings" / "gironde.json"
    assert engine.import_lieux(source_file("hinaura-v0.1.json"), "Hinaura", communes=communes).valid == 687
    assert engine.import_lieux(source_file("gironde-raw.json"), "Gironde", mapping=mapping,
                               communes=communes).valid == 347
    run_dedup()
    columns = [f.name for f in Lieu._meta.fields]
    lieux = list(Lieu.objects.filter(fusionne_dans__isnull=True))
    assert len(lieux) > 900
    blocked, changed = {}, {}
    for lieu in lieux:
        edit = edition.check({name: getattr(lieu, name) for name in columns}, columns, communes=communes)
        if edit.errors:
            blocked[lieu.id_standard] = edit.errors
        elif columns_changed := edition.apply(lieu, edit):
            changed[lieu.id_standard] = columns_changed
    assert blocked == {}
    assert changed == {}  # saved unchanged


@pytest.fixture
def sete(montpellier):
    from tests.factories import CommuneFactory

    return CommuneFactory(code="34301", nom="Sète", codes_postaux=["34200"], latitude=43.40, longitude=3.69)


def test_a_new_commune_name_and_postcode_move_the_lieu_to_that_commune(client, sete):
    """The old INSEE code used to stay (the normaliser trusts a code it knows): the lieu stayed in
    Montpellier's pages and counts."""
    lieu = make_lieu(nom="Espace")
    assert lieu.commune_id == "34172"
    response = _save_through_admin(client, lieu, commune_nom="Sète", code_postal="34200")
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert (lieu.code_insee, lieu.commune_id, lieu.commune_nom) == ("34301", "34301", "Sète")
    form = admin_form(lieu, commune_nom="Sètteville", code_postal="34999")  # no such commune
    assert not form.is_valid()
    assert "Commune introuvable" in str(form.errors["commune_nom"])


@pytest.mark.parametrize("precision", ["commune", "adresse"])
def test_a_position_found_from_the_old_address_does_not_stay(client, sete, precision):
    """A position geocoded from the old address (or the old commune's centre) stayed where it was when
    the lieu moved to another commune: 30 km away on the map."""
    from mednum.lieux.models import PositionPrecision

    lieu = make_lieu(nom="Espace")
    Lieu.objects.filter(pk=lieu.pk).update(position_precision=precision, latitude=43.61, longitude=3.87)
    lieu.refresh_from_db()
    response = _save_through_admin(client, lieu, commune_nom="Sète", code_postal="34200", adresse="1 quai de la Marine")
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert (lieu.latitude, lieu.longitude, lieu.position_precision) == (43.4, 3.69, PositionPrecision.COMMUNE)


def test_a_position_given_by_the_source_stays_when_the_address_is_corrected(client, sete):
    from mednum.lieux.models import PositionPrecision

    lieu = make_lieu(nom="Espace")
    assert lieu.position_precision == PositionPrecision.SOURCE
    before = (lieu.latitude, lieu.longitude)
    assert _save_through_admin(client, lieu, adresse="12 rue de la République (2e étage)").status_code == 302
    lieu.refresh_from_db()
    assert (lieu.latitude, lieu.longitude, lieu.position_precision) == (*before, PositionPrecision.SOURCE)


def test_one_coordinate_alone_is_refused(montpellier):
    """Typing a longitude with an empty latitude used to save no position at all, without a word."""
    lieu = make_lieu(nom="Espace")
    form = admin_form(lieu, latitude="", longitude="3.9")
    assert not form.is_valid()
    assert "Saisissez la latitude et la longitude" in str(form.errors["latitude"])


def test_a_typed_position_is_stored_as_an_import_stores_it(client, montpellier):
    """Typed with many decimals (copied from a map site), it was either refused by a warning about a value
    kept as typed, or stored with all its decimals where an import keeps six."""
    lieu = make_lieu(nom="Espace")
    response = _save_through_admin(client, lieu, latitude="43.61071234567", longitude="3.87671234567")
    assert response.status_code == 302, response.content.decode()[:2000]
    lieu.refresh_from_db()
    assert (lieu.latitude, lieu.longitude) == (43.610712, 3.876712)


def test_an_id_that_normalises_to_another_lieu_s_id_is_a_form_error(client, montpellier):
    """The uniqueness check ran on the typed id and the save wrote the normalised one: « abc\tdef » next to
    « abc def » ended in an IntegrityError (a 500)."""
    make_lieu(nom="Autre", source_id="abc def")
    lieu = make_lieu(nom="Espace")
    response = _save_through_admin(client, lieu, id_standard="abc\tdef")
    assert response.status_code == 200
    assert "existe déjà" in response.content.decode()


# --- opening hours that cannot be read: listed for moderators -----------------------------------------


def test_moderators_list_the_lieux_whose_hours_cannot_be_read(admin_client):
    lisible = make_lieu(nom="Espace lisible", horaires="Mo-Fr 09:00-12:00")
    illisible = make_lieu(nom="Espace illisible", horaires="lundi 9h-12h")
    autre = make_lieu(nom="Autre illisible", horaires="Lu-Ve")
    sans = make_lieu(nom="Espace sans horaires", horaires="")

    page = admin_client.get("/admin/lieux/lieu/?horaires=illisibles").content.decode()
    assert "Illisibles (à corriger)" in page
    assert "Espace illisible" in page and "Autre illisible" in page
    assert "Espace lisible" not in page and "Espace sans horaires" not in page
    # Each with its hours and what is wrong with them.
    assert "lundi 9h-12h" in page and page.count("Illisibles, montrés tels quels sur la fiche") == 2

    page = admin_client.get("/admin/lieux/lieu/?horaires=absents").content.decode()
    assert "Espace sans horaires" in page and "Espace illisible" not in page
    page = admin_client.get("/admin/lieux/lieu/").content.decode()
    assert all(lieu.nom in page for lieu in (lisible, illisible, autre, sans))
    assert "Illisibles, montrés tels quels" not in page  # the column only with the filter

    # The lieu's form says it too, beside the hours to fix.
    page = admin_client.get(f"/admin/lieux/lieu/{illisible.pk}/change/").content.decode()
    assert "Lecture des horaires" in page and "Illisibles, montrés tels quels sur la fiche" in page
    assert "Lisibles." in admin_client.get(f"/admin/lieux/lieu/{lisible.pk}/change/").content.decode()


# --- the administration's search ---------------------------------------------------------------------


@pytest.fixture
def a_chercher():
    from tests.factories import CommuneFactory

    # Saint-Étienne is a commune of the database (as the communes of imported lieux are); Agen and Lyon
    # are only written on their lieux (`commune_nom`).
    CommuneFactory(code="42218", nom="Saint-Étienne")
    return {
        "agen": make_lieu(nom="Médiathèque d'Agen", commune="Agen", code_postal="47000", code_insee="47001"),
        "etienne": make_lieu(nom="ÉPN du Crêt", commune="Saint-Étienne", code_postal="42000", code_insee="42218"),
        "oeuvre": make_lieu(nom="Cœur de ville numérique", commune="Lyon", code_postal="69001", code_insee="69381",
                            pivot="12345678900011"),
    }


@pytest.mark.parametrize(("texte", "attendus"), [
    ("mediatheque", {"agen"}),
    ("MÉDIATHÈQUE", {"agen"}),
    ("Médiathèque", {"agen"}),
    ("d'agen", {"agen"}),
    ("mediatheque agen", {"agen"}),
    ("mediatheque lyon", set()),
    ("epn", {"etienne"}),
    ("saint etienne", {"etienne"}),
    ("SAINT-ÉTIENNE", {"etienne"}),
    ('"saint etienne"', {"etienne"}),
    ("cret", {"etienne"}),
    ("coeur", {"oeuvre"}),
    ("Cœur", {"oeuvre"}),
    ("47000", {"agen"}),
    ("42218", {"etienne"}),
    ("12345678900011", {"oeuvre"}),
    ("numerique", {"oeuvre"}),
    ("introuvable", set()),
])
def test_the_administrations_search_ignores_accents_case_and_punctuation(a_chercher, texte, attendus):
    from mednum.lieux.admin import lieux_correspondants

    ids = set(lieux_correspondants(Lieu.objects.all(), texte).values_list("id", flat=True))
    assert ids == {a_chercher[nom].id for nom in attendus}


def test_the_database_key_is_pythons_normalise():
    """SQLite computes the key with `normalise` itself; PostgreSQL with SQL, which must agree on French
    names (upper-case accents, ligatures, apostrophes, hyphens, spaces)."""
    from mednum.territoires.text import CleTexte, normalise

    noms = ["Médiathèque d'Agen", "ÉPN du Crêt", "Cœur de ville", "L'Isle-sur-la-Sorgue", "ÎLE-D'YEU  (Port-Joinville)",
            "Château-Thierry", "Æsthétique Straße", "Çà et là : Noël à Saint-Ouën", "EPN n°3 — 2ᵉ étage", "1ʳᵉ Maison nº 4"]
    for nom in noms:
        make_lieu(nom=nom)
    for nom, cle in Lieu.objects.annotate(cle=CleTexte("nom")).values_list("nom", "cle"):
        assert cle == normalise(nom), nom


def test_moderators_find_a_lieu_without_typing_its_accents(admin_client, a_chercher):
    page = admin_client.get("/admin/lieux/lieu/", {"q": "mediatheque"}).content.decode()
    assert "Médiathèque d&#x27;Agen" in page or "Médiathèque d'Agen" in page
    assert "ÉPN du Crêt" not in page
    assert "Nom ou commune (avec ou sans accents)" in page
    assert admin_client.get("/admin/lieux/lieu/", {"q": "saint etienne"}).status_code == 200


def found_in_admin_list(client, model: str, texte: str, objects) -> set[int]:
    """The ids of `objects` whose change link the admin's list of `model` shows when searched for `texte`."""
    page = client.get(f"/admin/lieux/{model}/", {"q": texte})
    assert page.status_code == 200
    html = page.content.decode()
    return {o.pk for o in objects if f"/admin/lieux/{model}/{o.pk}/change/" in html}


def test_source_records_are_found_by_their_lieu_without_accents_or_by_their_exact_identifier(admin_client, a_chercher):
    agen = a_chercher["agen"].source_records.get()
    etienne = a_chercher["etienne"].source_records.get()

    def trouves(texte):
        return found_in_admin_list(admin_client, "sourcerecord", texte, (agen, etienne))

    assert trouves("mediatheque") == {agen.pk}
    assert trouves("SAINT ETIENNE") == {etienne.pk}
    assert trouves("47000") == {agen.pk}
    assert trouves(etienne.source_id) == {etienne.pk}
    assert trouves(etienne.source_id[:-1] + "x") == set()
    assert trouves("introuvable") == set()
    assert "Identifiant dans la source (exact)" in admin_client.get("/admin/lieux/sourcerecord/").content.decode()


def test_duplicate_pairs_are_found_by_either_lieu_without_accents_or_a_source_identifier(admin_client):
    from mednum.lieux.models import DedupPair

    def paire(lieu_a, lieu_b):
        return DedupPair.objects.create(
            record_a=lieu_a.source_records.get(), record_b=lieu_b.source_records.get(), score=0.7, distance_m=12
        )

    jean_moulin = paire(make_lieu("Hinaura", "h-41", nom="Médiathèque Jean Moulin"),
                        make_lieu("Gironde", "g-77", nom="Espace numérique municipal"))
    coeur = paire(make_lieu("Hinaura", "h-52", nom="Cœur de ville numérique"),
                  make_lieu("Gironde", "g-93", nom="Maison France services"))

    def trouvees(texte):
        return found_in_admin_list(admin_client, "deduppair", texte, (jean_moulin, coeur))

    assert trouvees("mediatheque") == {jean_moulin.pk}  # lieu A
    assert trouvees("ESPACE NUMERIQUE") == {jean_moulin.pk}  # lieu B
    assert trouvees("coeur") == {coeur.pk}
    assert trouvees("france services") == {coeur.pk}
    assert trouvees("numerique") == {jean_moulin.pk, coeur.pk}
    assert trouvees("g-93") == {coeur.pk}
    assert trouvees("introuvable") == set()
