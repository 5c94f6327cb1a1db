"""The territory loader (`mednum.territoires.loader`) and `manage.py load_territoires`.

`fixtures/` holds a few rows cut from the committed files (`mednum/territoires/data/`): eight
communes (two named Œuilly, one without coordinates in an overseas collectivity), their EPCI,
départements and régions. The last tests load the committed files themselves.
"""

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q

from mednum.territoires.loader import DATA_DIR, LoadError, load_territoires
from mednum.territoires.models import CodePostal, Commune, Departement, Epci, Region
from mednum.territoires.text import normalise

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
STATIC_DIR = Path(__file__).resolve().parents[2] / "mednum" / "static" / "territoires"


@pytest.fixture
def data_dir(tmp_path):
    """A writable copy of the fixture files."""
    target = tmp_path / "territoires"
    shutil.copytree(FIXTURES, target)
    return target


def edit_csv(path: Path, change):
    """Rewrite `path` with `change(rows)` (a list of dicts) applied."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fieldnames, rows = reader.fieldnames, list(reader)
    rows = change(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def snapshot():
    """Every loaded row, to compare two loads."""
    return {
        "regions": list(Region.objects.order_by("code").values()),
        "departements": list(Departement.objects.order_by("code").values()),
        "epci": list(Epci.objects.order_by("code").values()),
        "communes": list(Commune.objects.order_by("code").values()),
        "codes_postaux": list(CodePostal.objects.order_by("id").values()),
    }


# --- Fixture files ---------------------------------------------------------------------------------


def test_loads_every_table(data_dir):
    result = load_territoires(data_dir)

    assert (Region.objects.count(), Departement.objects.count(), Epci.objects.count(), Commune.objects.count()) == (
        7,
        7,
        6,
        8,
    )
    assert CodePostal.objects.count() == 10
    assert (result.communes.created, result.codes_postaux.created, result.communes.updated) == (8, 10, 0)
    assert "8 communes (+8)" in result.summary()


def test_commune_fields(data_dir):
    load_territoires(data_dir)

    sete = Commune.objects.get(code="34301")
    assert (sete.nom, sete.nom_recherche, sete.slug) == ("Sète", "sete", "sete-34301")
    assert sete.codes_postaux == ["34200"]
    assert list(sete.postal_codes.values_list("code", flat=True)) == ["34200"]
    assert (sete.departement_id, sete.region_id, sete.zone, sete.population) == ("34", "76", "metro", 45337)
    assert sete.epci.nom == "CA Sète Agglopôle Méditerranée"
    assert (sete.latitude, sete.longitude, sete.coordonnees_source) == (43.40179, 3.69595, "mairie")

    saint_etienne = Commune.objects.get(code="42218")
    assert saint_etienne.nom_recherche == "saint etienne"
    assert sorted(saint_etienne.postal_codes.values_list("code", flat=True)) == ["42000", "42100", "42230"]
    assert Commune.objects.get(code="84054").nom_recherche == "l isle sur la sorgue"
    # Same name, two communes: the code keeps slugs unique.
    assert sorted(Commune.objects.filter(nom_recherche="oeuilly").values_list("slug", flat=True)) == [
        "oeuilly-02565",
        "oeuilly-51410",
    ]
    assert all(c.nom_recherche == normalise(c.nom) for c in Commune.objects.all())

    assert Region.objects.get(code="93").slug == "provence-alpes-cote-d-azur"
    assert Departement.objects.get(code="971").region.nom == "Guadeloupe"
    assert Epci.objects.get(code="244200770").communes.get().code == "42218"


def test_commune_without_coordinates_is_loaded_and_findable(data_dir):
    load_territoires(data_dir)

    saint_pierre = Commune.objects.get(nom_recherche="saint pierre")
    assert saint_pierre.code == "97502"
    assert saint_pierre.zone == "com"
    assert not saint_pierre.has_coordinates
    assert saint_pierre.coordonnees_source == ""
    assert saint_pierre.epci is None
    assert list(saint_pierre.postal_codes.values_list("code", flat=True)) == ["97500"]


def test_second_load_changes_nothing(data_dir):
    load_territoires(data_dir)
    before = snapshot()

    result = load_territoires(data_dir)

    assert not result.changed
    assert snapshot() == before  # same rows, same postal-code ids
    assert result.summary().startswith("Territoires chargés : 7 régions, 7 départements, 6 EPCI, 8 communes")


def test_changed_rows_are_updated(data_dir):
    load_territoires(data_dir)

    def change_communes(rows):
        for row in rows:
            if row["code"] == "34301":
                row.update(nom="Cette", population="46000", codes_postaux="34200 34299", latitude="43.4", longitude="3.7")
            if row["code"] == "42218":
                row.update(codes_postaux="42000 42100")
        return rows

    edit_csv(data_dir / "communes.csv", change_communes)
    edit_csv(
        data_dir / "epci.csv",
        lambda rows: [dict(r, nom="Sète Agglopôle") if r["code"] == "200066355" else r for r in rows],
    )
    result = load_territoires(data_dir)

    assert (result.communes.created, result.communes.updated, result.communes.deleted) == (0, 2, 0)
    assert (result.epci.updated, result.regions.updated, result.departements.updated) == (1, 0, 0)
    assert (result.codes_postaux.created, result.codes_postaux.deleted) == (1, 1)
    sete = Commune.objects.get(code="34301")
    assert (sete.nom, sete.nom_recherche, sete.slug, sete.population) == ("Cette", "cette", "cette-34301", 46000)
    assert (sete.latitude, sete.longitude) == (43.4, 3.7)
    assert sorted(sete.postal_codes.values_list("code", flat=True)) == ["34200", "34299"]
    assert sorted(CodePostal.objects.filter(commune_id="42218").values_list("code", flat=True)) == ["42000", "42100"]
    assert Epci.objects.get(code="200066355").nom == "Sète Agglopôle"
    assert Commune.objects.count() == 8


def test_rows_gone_from_the_files_are_deleted_unless_referenced(data_dir):
    from mednum.accounts.models import RoleAssignment
    from mednum.lieux.models import Lieu
    from tests.factories import RoleAssignmentFactory

    load_territoires(data_dir)
    # A lieu in Basse-Terre: that commune must survive its removal from the files.
    Lieu.objects.create(
        id_standard="test-basse-terre",
        nom="Médiathèque",
        commune_nom="Basse-Terre",
        code_postal="97100",
        adresse="1 rue de la Mairie",
        date_maj=dt.date(2025, 1, 1),
        slug="mediatheque-basse-terre",
        commune=Commune.objects.get(code="97105"),
    )

    # A role given on Œuilly (Marne), through a generic foreign key: kept as well.
    RoleAssignmentFactory(role="contributeur", target=Commune.objects.get(code="51410"))

    removed = {"34108", "97105", "51410"}
    edit_csv(data_dir / "communes.csv", lambda rows: [r for r in rows if r["code"] not in removed])
    result = load_territoires(data_dir)

    assert (result.communes.deleted, result.communes.kept) == (1, ["51410", "97105"])
    assert not Commune.objects.filter(code="34108").exists()
    assert not CodePostal.objects.filter(code="34110").exists()
    basse_terre = Commune.objects.get(code="97105")
    assert basse_terre.lieux.count() == 1
    assert list(basse_terre.postal_codes.values_list("code", flat=True)) == ["97100"]
    # Kept communes still hold their EPCI, département and région, which are therefore kept too.
    edit_csv(data_dir / "epci.csv", lambda rows: [r for r in rows if r["code"] != "249710070"])
    edit_csv(data_dir / "departements.csv", lambda rows: [r for r in rows if r["code"] != "971"])
    edit_csv(data_dir / "regions.csv", lambda rows: [r for r in rows if r["code"] != "01"])
    result = load_territoires(data_dir)
    assert (result.epci.kept, result.departements.kept, result.regions.kept) == (["249710070"], ["971"], ["01"])
    assert (result.epci.deleted, result.departements.deleted, result.regions.deleted) == (0, 0, 0)

    # Once nothing refers to them any more, the next load removes them.
    Lieu.objects.all().delete()
    RoleAssignment.objects.all().delete()
    result = load_territoires(data_dir)
    assert (result.communes.deleted, result.epci.deleted, result.departements.deleted, result.regions.deleted) == (
        2,
        1,
        1,
        1,
    )
    assert not Commune.objects.filter(code="97105").exists()
    assert not Region.objects.filter(code="01").exists()


def test_inconsistent_files_change_nothing(data_dir):
    load_territoires(data_dir)
    before = snapshot()

    def break_communes(rows):
        rows[0]["population"] = "1"
        rows[-1]["departement"] = "99"
        return rows

    edit_csv(data_dir / "communes.csv", break_communes)
    with pytest.raises(LoadError, match="département inconnu '99'"):
        load_territoires(data_dir)
    assert snapshot() == before


def test_management_command(data_dir):
    out = io.StringIO()
    call_command("load_territoires", data_dir=str(data_dir), stdout=out)
    assert out.getvalue().startswith("Territoires chargés : 7 régions (+7), 7 départements (+7), 6 EPCI (+6), 8 communes (+8)")

    out = io.StringIO()
    call_command("load_territoires", data_dir=str(data_dir), stdout=out)
    assert "(+" not in out.getvalue()


def test_admin_is_searchable_and_read_only(data_dir, client):
    from tests.factories import SuperUserFactory

    load_territoires(data_dir)
    client.force_login(SuperUserFactory())

    def found(query):
        response = client.get("/admin/territoires/commune/", {"q": query})
        assert response.status_code == 200
        return [c.code for c in response.context["cl"].result_list]

    assert found("sete") == ["34301"]  # without the accent
    assert found("Saint-Étienne") == found("saint etienne") == ["42218"]
    assert found("34110") == ["34108"]  # postal code
    assert found("975") == ["97502"]  # INSEE code prefix
    assert sorted(found("oeuilly")) == ["02565", "51410"]
    response = client.get("/admin/territoires/commune/34301/change/")
    assert response.status_code == 200 and "34200" in response.text
    assert client.get("/admin/territoires/commune/add/").status_code == 403
    for model in ("region", "departement", "epci", "codepostal"):
        assert client.get(f"/admin/territoires/{model}/", {"q": "34"}).status_code == 200


# --- Committed files -------------------------------------------------------------------------------


def test_committed_files():
    result = load_territoires()

    assert (result.communes.total, result.epci.total, result.departements.total, result.regions.total) == (
        34969,
        1255,
        109,
        26,
    )
    assert Commune.objects.count() == 34969
    assert Epci.objects.count() == 1255
    assert Departement.objects.count() == 109
    assert Region.objects.count() == 26

    sete = Commune.objects.get(code="34301")
    assert sete.nom == "Sète"
    assert "34200" in sete.postal_codes.values_list("code", flat=True)
    assert sete.has_coordinates
    assert 43.35 < sete.latitude < 43.45 and 3.6 < sete.longitude < 3.75
    assert sete.departement.nom == "Hérault" and sete.region.nom == "Occitanie" and sete.epci is not None

    # Metropolitan France and the DROM: every commune has coordinates.
    without = Commune.objects.filter(zone__in=["metro", "drom"]).filter(Q(latitude__isnull=True) | Q(longitude__isnull=True))
    assert list(without.values_list("code", flat=True)) == []
    # Overseas collectivities without coordinates are still there, and findable by name.
    assert Commune.objects.filter(zone="com").count() == 94
    saint_barthelemy = Commune.objects.get(code="97701")
    assert (saint_barthelemy.nom_recherche, saint_barthelemy.has_coordinates) == ("saint barthelemy", False)
    assert not Commune.objects.filter(nom_recherche="").exists()
    assert Commune.objects.filter(epci__isnull=False).count() > 34800
    # Every EPCI has members; no commune belongs to a département of another région.
    assert not Epci.objects.annotate(n=Count("communes")).filter(n=0).exists()
    assert not Commune.objects.exclude(departement__region=F("region")).exists()

    assert not load_territoires().changed


@pytest.mark.parametrize(("name", "count", "cap"), [("departements", 101, 1_500_000), ("regions", 18, 1_000_000)])
def test_outlines(name, count, cap):
    path = STATIC_DIR / f"{name}.geojson"
    assert path.stat().st_size < cap
    collection = json.loads(path.read_text(encoding="utf-8"))
    features = collection["features"]
    assert len(features) == count  # overseas collectivities have no outline in the sources
    assert all(set(f["properties"]) == {"code", "nom"} for f in features)
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)
    codes = {f["properties"]["code"] for f in features}
    assert codes <= set(
        line.split(",")[0] for line in (DATA_DIR / f"{name}.csv").read_text(encoding="utf-8").splitlines()[1:]
    )
