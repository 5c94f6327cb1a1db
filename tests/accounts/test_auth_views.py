"""Log in with an e-mail address, log out, reset or change the password, get locked out after 5 failures."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import TEST_PASSWORD, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/compte/connexion/"
NEW_PASSWORD = "une-toute-nouvelle-phrase-secrete"


def login(client, email, password=TEST_PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": email, "password": password, **extra})


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


# --- Log in and out -----------------------------------------------------------------------------------


def test_urls():
    assert reverse("accounts:login") == LOGIN_URL
    assert reverse("accounts:logout") == "/compte/deconnexion/"
    assert reverse("accounts:password_reset") == "/compte/mot-de-passe/oublie/"


def test_login_page_in_french_with_dsfr_form(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Adresse e-mail" in content
    assert "Mot de passe" in content
    assert 'name="username"' in content and 'type="email"' in content
    assert "fr-input-group" in content and 'class="fr-input"' in content and "fr-btn" in content
    assert reverse("accounts:password_reset") in content


def test_login_with_email(client):
    user = UserFactory(email="camille@exemple.fr")
    response = login(client, "camille@exemple.fr")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_user_id(client) == str(user.pk)


def test_login_email_is_case_insensitive(client):
    user = UserFactory(email="camille@exemple.fr")
    response = login(client, "  Camille@EXEMPLE.fr ")
    assert response.status_code == 302
    assert logged_in_user_id(client) == str(user.pk)


def test_login_follows_next(client):
    UserFactory(email="camille@exemple.fr")
    response = login(client, "camille@exemple.fr", next="/compte/")
    assert response["Location"] == "/compte/"


def test_login_ignores_foreign_next(client):
    UserFactory(email="camille@exemple.fr")
    response = login(client, "camille@exemple.fr", next="https://ailleurs.example.com/")
    assert response["Location"] == "/"


def test_wrong_password_shows_a_french_error(client):
    UserFactory(email="camille@exemple.fr")
    response = login(client, "camille@exemple.fr", "pas-le-bon")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Adresse e-mail ou mot de passe incorrect." in content
    assert "fr-alert fr-alert--error" in content
    assert logged_in_user_id(client) is None


def test_unknown_address_gets_the_same_error(client):
    response = login(client, "personne@nulle-part.fr")
    assert "Adresse e-mail ou mot de passe incorrect." in response.content.decode()


def test_inactive_user_cannot_log_in(client):
    UserFactory(email="parti@exemple.fr", is_active=False)
    response = login(client, "parti@exemple.fr")
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_logout_is_a_post(client):
    user = UserFactory()
    client.force_login(user)
    page = client.get("/compte/deconnexion/")
    assert page.status_code == 200
    assert "Se déconnecter" in page.content.decode()
    assert logged_in_user_id(client) == str(user.pk)  # a GET does not log out
    response = client.post("/compte/deconnexion/")
    assert response.status_code == 302
    assert logged_in_user_id(client) is None


def test_profile_needs_login_and_lists_roles(client, territoires):
    response = client.get("/compte/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL + "?next=")
    assignment = RoleAssignmentFactory(role="moderateur_hub", departement=territoires.herault)
    client.force_login(assignment.user)
    content = client.get("/compte/").content.decode()
    assert "Modérateur de hub" in content
    assert "Hérault (34)" in content


# --- Forgotten password --------------------------------------------------------------------------------


def reset_link_from(message):
    match = re.search(r"https?://[^/\s]+(/compte/mot-de-passe/nouveau/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_sends_a_french_mail_and_the_link_works(client):
    user = UserFactory(email="camille@exemple.fr")
    page = client.get("/compte/mot-de-passe/oublie/")
    assert page.status_code == 200
    assert "Adresse e-mail" in page.content.decode()

    response = client.post("/compte/mot-de-passe/oublie/", {"email": "Camille@Exemple.fr"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["camille@exemple.fr"]
    assert "mot de passe" in message.subject.lower()
    assert "Bonjour" in message.body

    link = reset_link_from(message)
    response = client.get(link)  # Django swaps the token for a session one and redirects
    assert response.status_code == 302
    form_url = response["Location"]
    form_page = client.get(form_url)
    assert form_page.status_code == 200
    assert "Choisir un nouveau mot de passe" in form_page.content.decode()

    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    assert login(client, "camille@exemple.fr", NEW_PASSWORD).status_code == 302
    # The link served once.
    client.logout()
    assert "Lien invalide" in client.get(link, follow=True).content.decode()


def test_password_reset_for_unknown_address_sends_nothing_and_says_nothing(client):
    response = client.post("/compte/mot-de-passe/oublie/", {"email": "inconnu@exemple.fr"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_password_reset_with_a_bad_link(client):
    response = client.get("/compte/mot-de-passe/nouveau/MQ/mauvais-jeton/")
    assert response.status_code == 200
    assert "Lien invalide ou expiré" in response.content.decode()


# --- Password change -------------------------------------------------------------------------------------


def test_password_change(client):
    user = UserFactory()
    assert client.get("/compte/mot-de-passe/modifier/").status_code == 302  # login first
    client.force_login(user)
    page = client.get("/compte/mot-de-passe/modifier/")
    assert page.status_code == 200
    response = client.post(
        "/compte/mot-de-passe/modifier/",
        {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert logged_in_user_id(client) == str(user.pk)  # still logged in


def test_password_change_refuses_a_weak_password(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        "/compte/mot-de-passe/modifier/",
        {"old_password": TEST_PASSWORD, "new_password1": "court", "new_password2": "court"},
    )
    assert response.status_code == 200
    assert "fr-error-text" in response.content.decode()


# --- Brute-force lockout (django-axes) --------------------------------------------------------------------


def test_lockout_after_five_failures(client):
    UserFactory(email="camille@exemple.fr")
    for _ in range(4):
        assert login(client, "camille@exemple.fr", "mauvais").status_code == 200
    fifth = login(client, "camille@exemple.fr", "mauvais")
    assert fifth.status_code == 429
    # Even the right password is refused now, with the French lockout page.
    response = login(client, "camille@exemple.fr")
    assert response.status_code == 429
    content = response.content.decode()
    assert "Trop de tentatives de connexion" in content
    assert "30 minutes" in content
    assert logged_in_user_id(client) is None


def test_lockout_counts_the_address_whatever_its_case(client):
    UserFactory(email="camille@exemple.fr")
    for email in ("camille@exemple.fr", "Camille@exemple.fr", "CAMILLE@exemple.fr", "camille@EXEMPLE.fr"):
        assert login(client, email, "mauvais").status_code == 200
    assert login(client, "Camille@Exemple.Fr", "mauvais").status_code == 429
    assert login(client, "camille@exemple.fr").status_code == 429


def test_lockout_is_per_address(client):
    UserFactory(email="camille@exemple.fr")
    UserFactory(email="dominique@exemple.fr")
    for _ in range(5):
        login(client, "camille@exemple.fr", "mauvais")
    assert login(client, "dominique@exemple.fr").status_code == 302


def test_success_before_the_limit_resets_the_count(client):
    UserFactory(email="camille@exemple.fr")
    for _ in range(4):
        login(client, "camille@exemple.fr", "mauvais")
    assert login(client, "camille@exemple.fr").status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, "camille@exemple.fr", "mauvais").status_code == 200


def test_password_reset_lifts_the_lockout(client):
    user = UserFactory(email="camille@exemple.fr")
    for _ in range(5):
        login(client, "camille@exemple.fr", "mauvais")
    assert login(client, "camille@exemple.fr").status_code == 429

    client.post("/compte/mot-de-passe/oublie/", {"email": "camille@exemple.fr"})
    form_url = client.get(reset_link_from(mail.outbox[0]))["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert login(client, "camille@exemple.fr", NEW_PASSWORD).status_code == 302


def test_admin_login_is_protected_too(client):
    UserFactory(email="chef@exemple.fr", is_staff=True)
    for _ in range(5):
        client.post("/admin/login/", {"username": "Chef@Exemple.fr", "password": "mauvais"})
    response = client.post("/admin/login/", {"username": "chef@exemple.fr", "password": TEST_PASSWORD})
    assert response.status_code == 429


@pytest.mark.parametrize("url", ["/compte/connexion/", "/compte/mot-de-passe/oublie/"])
def test_public_account_forms_do_not_take_the_focus(client, url):
    """An autofocused field put keyboard users past the skip links (« Aller au contenu »…)."""
    page = client.get(url).content.decode()
    assert "<form" in page
    assert "autofocus" not in page
