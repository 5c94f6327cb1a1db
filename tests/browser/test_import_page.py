"""In Chromium: the staff import page, as a moderator uses it with the keyboard.

The form (with the source names already used suggested), then the report of a file with a rejected row
and a value dropped from an imported row: both tables, and axe-core finds no serious or critical
violation on either page.
"""

import pytest
from django.conf import settings
from django.test import Client

from tests.browser.axe import check_axe
from tests.factories import SuperUserFactory, make_lieu
from tests.imports.conftest import csv_text, row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def moderateur(page, live_server):
    """The browser signed in as a superuser (the session made by Django's test client)."""
    client = Client()
    client.force_login(SuperUserFactory())
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
          "url": live_server.url}]
    )
    return page


def test_import_page_with_the_keyboard_and_its_report(moderateur, live_server, tmp_path):
    page = moderateur
    make_lieu(source="Réseau des médiathèques", source_id="m-1")
    path = tmp_path / "lieux.csv"
    path.write_text(csv_text([row(1), row(2, courriels="pas-un-courriel"), row(3, nom="")]), encoding="utf-8")

    page.goto(live_server.url + "/gestion/import/")
    assert page.locator("#sources-connues option").evaluate_all("options => options.map(o => o.value)") == [
        "Réseau des médiathèques"]
    check_axe(page, "page d'import")

    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("input[type=file]").focus()
    page.keyboard.press("Tab")  # to the source's name
    assert page.evaluate("document.activeElement.name") == "source"
    page.keyboard.type("Réseau test")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rapport-titre")

    assert page.locator("#rapport-titre").inner_text() == "Import terminé, des lignes ont été rejetées"
    assert "nom" in page.locator("#lignes-rejetees").inner_text()
    assert "pas-un-courriel" in page.locator("#valeurs-corrigees").inner_text()
    check_axe(page, "rapport d'import")


def test_a_background_import_is_followed_on_its_page_then_shows_its_report(moderateur, live_server, tmp_path,
                                                                          settings, monkeypatch):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    import time

    from mednum.imports import conservation, views
    from mednum.imports.progression import IMMOBILE_APRES_S, ProgressFile

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(views, "SYNC_MAX_BYTES", 100)  # every file goes to the background
    page = moderateur
    path = tmp_path / "lieux.csv"
    path.write_text(csv_text([row(1), row(2)]), encoding="utf-8")

    page.goto(live_server.url + "/gestion/import/")
    page.locator("input[type=file]").set_input_files(str(path))
    page.locator("input[name=source]").fill("Réseau test")
    page.locator("input[name=source]").press("Enter")
    page.wait_for_url("**/gestion/import/suivi/**")
    assert "attend son tour" in page.locator("#suivi-texte").inner_text()
    assert page.locator("#suivi-actualiser").is_hidden()  # the script follows the import: no link to reload
    check_axe(page, "suivi d'un import")
    page.evaluate("window.memePage = true")

    # A worker takes the import and writes its progress: the page shows it without being loaded again,
    # and tells screen readers.
    DBTaskResult.objects.update(status="RUNNING")
    token = page.url.rstrip("/").split("/")[-1]
    ProgressFile(conservation.chemin_progression(token))("import", 34_000, 100_000, 3.0)
    page.wait_for_function("() => document.getElementById('suivi-barre').value === 34")
    assert page.locator("#suivi-texte").inner_text() == "Import des lignes : 34\u202f000 lignes sur 100\u202f000 (34 %)"
    assert page.locator("#suivi-annonce").inner_text() == page.locator("#suivi-texte").inner_text()
    assert page.locator("#suivi-alerte").is_hidden()
    assert page.evaluate("window.memePage") is True

    # Nothing new for minutes: the page warns, and says it once.
    stale = ProgressFile(conservation.chemin_progression(token), clock=lambda: time.time() - IMMOBILE_APRES_S - 200)
    stale("import", 35_000, 100_000, 4.0)
    page.locator("#suivi-alerte").wait_for(state="visible")
    assert "n'avance plus depuis 5 minutes" in page.locator("#suivi-alerte").inner_text()
    assert page.locator("#suivi-annonce").inner_text() == page.locator("#suivi-alerte-texte").inner_text()
    check_axe(page, "suivi d'un import arrêté")

    DBTaskResult.objects.update(status="READY")
    call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)
    page.wait_for_selector("#rapport-titre")
    assert page.locator("#rapport-titre").inner_text() == "Import terminé"
    assert "Lieux créés : 2" in page.locator("main").inner_text()
