"""In Chromium: the administration's pages that moderators use work under the site's
Content-Security-Policy (the check is tests/browser/conftest.py's, for every page opened): the list of
lieux with a filter, a lieu's form with its source records, the moderators' list of unreadable hours,
the background tasks and the history of a lieu."""

import pytest

from tests.browser.test_import_page import moderateur  # noqa: F401 - the signed-in browser
from tests.factories import make_lieu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_moderation_pages_run_under_the_policy(moderateur, live_server):  # noqa: F811
    page = moderateur
    lieu = make_lieu(source_id="adm-1", nom="Médiathèque du port", horaires="lundi 9h-12h")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path, seen in [
        ("/admin/", "Tâches en arrière-plan"),
        ("/admin/lieux/lieu/?horaires=illisibles", "Médiathèque du port"),
        (f"/admin/lieux/lieu/{lieu.pk}/change/", "Lecture des horaires"),
        (f"/admin/lieux/lieu/{lieu.pk}/history/", "Médiathèque du port"),
        ("/admin/django_tasks_database/dbtaskresult/", "Tâches en arrière-plan"),
    ]:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert seen in page.content(), path
    # The form's scripts ran (the admin's collapsible fieldsets and inlines are built by them).
    page.goto(live_server.url + f"/admin/lieux/lieu/{lieu.pk}/change/")
    page.wait_for_load_state("load")
    assert page.evaluate("() => typeof window.django === 'object'")
    assert not errors, errors
