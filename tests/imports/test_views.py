"""The staff upload page /gestion/import/."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mednum.lieux.models import Lieu
from tests.factories import RoleAssignmentFactory, SuperUserFactory, UserFactory
from tests.imports.conftest import BAD, csv_text, row

pytestmark = pytest.mark.django_db

URL = "/gestion/import/"


@pytest.fixture
def staff_client(client, reims):
    client.force_login(SuperUserFactory())
    return client


def upload(content: bytes, name: str = "lieux.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def post(client, content: bytes, name="lieux.csv", **fields):
    data = {"fichier": upload(content, name), "source": "reseau-test", "mapping": ""}
    data.update(fields)
    return client.post(URL, data)


def test_url():
    assert reverse("imports:import") == URL


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/compte/" in response["Location"]


def test_person_without_the_permission_is_refused(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(URL)
    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>Accès refusé</h1>" in page and "Vous n&#x27;avez pas le droit d&#x27;importer des lieux." in page


def test_admin_role_may_import(client):
    user = UserFactory()
    RoleAssignmentFactory(user=user, role="admin")
    client.force_login(user)
    assert client.get(URL).status_code == 200


def test_form(staff_client):
    response = staff_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Importer des lieux" in html and 'enctype="multipart/form-data"' in html
    assert 'value="gironde"' in html  # mappings of mednum/imports/mappings/
    assert "fr-upload" in html and "fr-checkbox-group" in html


def test_known_source_names_are_suggested_and_a_near_one_is_refused(staff_client):
    assert post(staff_client, csv_text([row(1)]).encode(), source="Réseau Test").status_code == 200
    html = staff_client.get(URL).content.decode()
    assert 'list="sources-connues"' in html
    assert '<datalist id="sources-connues"><option value="Réseau Test"></option></datalist>' in html
    refused = post(staff_client, csv_text([row(1)]).encode(), source="reseau test")
    assert refused.status_code == 400  # said on the field: the form is shown again, nothing imported
    error = refused.content.decode().split('id="id_source-erreur"', 1)[1].split("</p>", 1)[0]
    assert "Aucune source ne s&#x27;appelle « reseau test », mais la source « Réseau Test » existe" in error
    assert Lieu.objects.count() == 1


def test_successful_import_shows_the_report(staff_client):
    response = post(staff_client, csv_text([row(1), row(2)]).encode())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Import terminé" in html and "Lieux créés : 2" in html
    assert Lieu.objects.count() == 2


def test_values_fixed_or_dropped_are_listed(staff_client):
    response = post(staff_client, csv_text([row(1), row(2, courriels="pas-un-courriel")]).encode())
    html = response.content.decode()
    assert "Import terminé" in html and "Lieux créés : 2" in html
    table = html.split('id="valeurs-corrigees"', 1)[1].split("</table>", 1)[0]
    assert "<td>3</td><td>courriels</td><td>pas-un-courriel</td>" in table and "invalide" in table


def test_rejected_rows_are_listed_and_downloadable(staff_client):
    response = post(staff_client, csv_text([row(1), row(2, services="Jonglage")]).encode())
    html = response.content.decode()
    assert "des lignes ont été rejetées" in html
    assert "fr-table" in html and "Jonglage" in html and "valeur inconnue" in html
    link = response.context["token"]
    download = staff_client.get(reverse("imports:rapport", args=[link]))
    assert download.status_code == 200
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    assert lines[0] == ["ligne", "champ", "valeur", "raison", "suite"] and lines[1][:3] == ["3", "services", "Jonglage"]


def test_only_the_first_200_rejections_are_shown(staff_client):
    rows = [row(n, nom="") for n in range(1, 260)] + [row(500)]
    response = post(staff_client, csv_text(rows).encode())
    assert len(response.context["rejections"]) == 200
    assert "200 premiers problèmes sur 259" in response.content.decode()


def test_dry_run_and_all_or_nothing(staff_client):
    response = post(staff_client, csv_text([row(1)]).encode(), simulation="on")
    assert "Simulation terminée" in response.content.decode() and Lieu.objects.count() == 0
    response = post(staff_client, csv_text([row(1), row(2, services="Jonglage")]).encode(), tout_ou_rien="on")
    assert "Rien n'a été importé" in response.content.decode() and Lieu.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ((BAD / "octets-invalides.csv").read_bytes(), "a.csv", "Encodage incohérent"),
        (b'[{"id": "1", "nom": "tronqu', "a.json", "Fichier tronqué"),
        ((BAD / "colonne-manquante.csv").read_bytes(), "a.csv", "date_maj"),
        (b"\x00\x01\x02\xff\xfe garbage", "a.csv", "Rien n&#x27;a été importé"),
        (b"PK\x03\x04 not really a zip", "a.json", "JSON"),
    ],
)
def test_bad_files_give_a_message_never_a_server_error(staff_client, content, name, message):
    response = post(staff_client, content, name=name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Lieu.objects.count() == 0


def test_form_errors(staff_client):
    response = staff_client.post(URL, {"source": "x"})
    assert response.status_code == 400 and "Ce champ est obligatoire" in response.content.decode()
    response = post(staff_client, b"", name="vide.csv")
    assert response.status_code == 400 and "est vide" in response.content.decode()
    response = post(staff_client, b"id\n1\n", name="lieux.xlsx")
    assert response.status_code == 400 and "CSV ou un JSON" in response.content.decode()


def test_too_large_upload_is_refused_with_a_message(staff_client, settings):
    settings.MEDNUM_IMPORT_MAX_UPLOAD = 1024
    response = post(staff_client, csv_text([row(n) for n in range(1, 10)]).encode())
    assert response.status_code == 400
    assert "au-delà de la limite de 1 Ko" in response.content.decode()


def test_large_file_goes_through_the_task(staff_client, monkeypatch):
    from mednum.imports import views

    monkeypatch.setattr(views, "SYNC_MAX_BYTES", 100)
    called = []
    from mednum.imports import tasks

    original = tasks.run_import

    def spy(*args, **kwargs):
        called.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(tasks, "run_import", spy)
    response = post(staff_client, csv_text([row(1), row(2)]).encode())
    assert called, "the background task did not run"
    assert response.status_code == 200 and "Lieux créés : 2" in response.content.decode()
    assert Lieu.objects.count() == 2


def test_unexpected_error_is_a_message(staff_client, monkeypatch):
    from mednum.imports import services

    def boom(*args, **kwargs):
        raise RuntimeError("panne")

    monkeypatch.setattr(services, "import_lieux", boom)
    response = post(staff_client, csv_text([row(1)]).encode())
    assert response.status_code == 200 and "erreur inattendue" in response.content.decode()
    assert "Les lignes déjà enregistrées le restent" in response.content.decode()
    # A simulation writes nothing: it does not speak of rows already recorded.
    page = post(staff_client, csv_text([row(1)]).encode(), simulation="on").content.decode()
    assert "La simulation s&#x27;est arrêtée sur une erreur inattendue" in page and "rien n&#x27;a été" in page
    assert "déjà enregistrées" not in page


def test_report_download_needs_permission_and_a_valid_token(client, staff_client):
    assert staff_client.get("/gestion/import/rapport/nimportequoi.csv").status_code == 404
    assert staff_client.get(f"/gestion/import/rapport/{'0' * 32}.csv").status_code == 404
    other = client.__class__()
    other.force_login(UserFactory())
    assert other.get(f"/gestion/import/rapport/{'0' * 32}.csv").status_code == 403


def test_uploaded_copy_is_not_kept(staff_client, settings):
    from pathlib import Path

    post(staff_client, csv_text([row(1)]).encode())
    assert list((Path(settings.MEDIA_ROOT) / "imports" / "fichiers").iterdir()) == []
