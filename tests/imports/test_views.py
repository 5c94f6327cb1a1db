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


# --- large files through the database task backend and its worker (`manage.py db_worker`) -------------


@pytest.fixture
def taches_en_base(settings, monkeypatch):
    """Tasks kept in the database, as in production; every file goes to the background."""
    from mednum.imports import views

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(views, "SYNC_MAX_BYTES", 100)


def run_worker():
    from django.core.management import call_command

    call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)


# The worker closes the connection between tasks (as after a request), which ends a test's transaction.
@pytest.mark.django_db(transaction=True)
def test_a_large_file_waits_for_the_worker_then_its_page_shows_the_report(staff_client, taches_en_base, settings,
                                                                           monkeypatch):
    from pathlib import Path

    from mednum.imports import progression

    states = []
    keep = progression.ProgressFile.__call__

    def spy(self, stage, rows, total, elapsed):
        keep(self, stage, rows, total, elapsed)
        states.append((self.path.parent.name, progression.lire(self.path)))

    monkeypatch.setattr(progression.ProgressFile, "__call__", spy)
    response = post(staff_client, csv_text([row(1), row(2)]).encode())
    assert response.status_code == 302
    suivi = response["Location"]
    assert suivi.startswith("/gestion/import/suivi/")
    page = staff_client.get(suivi).content.decode()
    assert "Import en cours" in page and "L&#x27;import attend son tour" in page
    assert Lieu.objects.count() == 0
    etat = staff_client.get(suivi + "etat.json")
    assert etat["Cache-Control"] == "no-store"
    assert etat.json() == {"termine": False, "etape": "attente", "pourcentage": None, "alerte": None,
                           "texte": "L'import attend son tour : il commencera dès que le traitement en "
                                    "arrière-plan sera libre."}

    run_worker()

    assert Lieu.objects.count() == 2
    # While it ran, the import kept its progress where the page reads it (a CSV file's rows are counted
    # on its lines).
    assert ("progression", progression.Progression("import", 2, 2, states[-1][1].maj, estime=True)) in states
    assert staff_client.get(suivi + "etat.json").json()["termine"] is True
    page = staff_client.get(suivi).content.decode()
    assert "Import terminé" in page and "Lieux créés : 2" in page
    imports = Path(settings.MEDIA_ROOT) / "imports"
    assert list((imports / "fichiers").iterdir()) == [] and list((imports / "progression").iterdir()) == []


def test_the_page_of_a_running_import_shows_its_progress(staff_client, taches_en_base, settings):
    import time
    from pathlib import Path

    from django_tasks_db.models import DBTaskResult

    from mednum.imports.progression import IMMOBILE_APRES_S, ProgressFile

    suivi = post(staff_client, csv_text([row(1)]).encode())["Location"]
    token = suivi.rstrip("/").split("/")[-1]
    DBTaskResult.objects.update(status="RUNNING")  # taken by a worker, which has not written its progress yet
    assert "L&#x27;import a commencé." in staff_client.get(suivi).content.decode()

    progress = ProgressFile(Path(settings.MEDIA_ROOT) / "imports" / "progression" / f"{token}.json")
    progress("import", 34_000, 100_000, 12.0)
    page = staff_client.get(suivi).content.decode()
    assert "Import des lignes : 34\u202f000 lignes sur 100\u202f000 (34 %)" in page
    assert '<progress class="imports-suivi__barre" id="suivi-barre" max="100" value="34">' in page
    etat = staff_client.get(suivi + "etat.json").json()
    assert (etat["etape"], etat["pourcentage"], etat["alerte"]) == ("import", 34, None)
    assert 'id="suivi-alerte" hidden' in page

    # No news for longer than a worker would take between two states: it may have been stopped.
    progress.clock = lambda: time.time() - IMMOBILE_APRES_S - 200
    progress("validation", 10, None, 1.0)
    etat = staff_client.get(suivi + "etat.json").json()
    assert etat["pourcentage"] is None and etat["texte"] == "Vérification de toutes les lignes (rien n'est " \
        "enregistré si une ligne est rejetée) : 10 lignes lues"
    assert "n'avance plus depuis 5 minutes" in etat["alerte"] and "relancez-le" in etat["alerte"]
    page = staff_client.get(suivi).content.decode()
    assert 'id="suivi-alerte" hidden' not in page and "n&#x27;avance plus depuis 5 minutes" in page
    assert "<progress" in page and 'value="' not in page.split('id="suivi-barre"')[1].split(">")[0]


def test_an_import_no_worker_takes_says_so(staff_client, taches_en_base):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    suivi = post(staff_client, csv_text([row(1)]).encode())["Location"]
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=7))
    etat = staff_client.get(suivi + "etat.json").json()
    assert etat["texte"] == "L'import attend depuis 7 minutes sans avoir commencé."
    assert etat["alerte"] == "Le traitement en arrière-plan semble arrêté : prévenez l'équipe technique."
    assert "prévenez l&#x27;équipe technique" in staff_client.get(suivi).content.decode()


def test_background_tasks_are_named_in_french_in_the_administration(staff_client, taches_en_base):
    """django-tasks-db ships its screens in English: mednum names the section and translates its
    fields and states (mednum/locale)."""
    post(staff_client, csv_text([row(1)]).encode())
    index = staff_client.get("/admin/").content.decode()
    assert "Tâches en arrière-plan" in index and "Tasks Database Backend" not in index
    liste = staff_client.get("/admin/django_tasks_database/dbtaskresult/").content.decode()
    assert "État" in liste and "Mise en file le" in liste and "En attente" in liste
    assert "Ready" not in liste and "Enqueued at" not in liste


def test_the_follow_up_needs_the_permission_the_task_and_its_token(client, staff_client, taches_en_base):
    suivi = post(staff_client, csv_text([row(1)]).encode())["Location"]
    result_id, token = suivi.rstrip("/").split("/")[-2:]
    other = client.__class__()
    other.force_login(UserFactory())
    assert other.get(suivi).status_code == 403 and other.get(suivi + "etat.json").status_code == 403
    assert client.__class__().get(suivi + "etat.json").status_code == 302  # to the sign-in page
    assert staff_client.post(suivi).status_code == 405 and staff_client.post(suivi + "etat.json").status_code == 405
    unknown = "00000000-0000-0000-0000-000000000000"
    assert staff_client.get(f"/gestion/import/suivi/{unknown}/{token}/etat.json").status_code == 404
    assert staff_client.get(f"/gestion/import/suivi/{result_id}/pas-un-jeton/").status_code == 404
