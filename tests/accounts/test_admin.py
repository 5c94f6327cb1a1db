"""The admin, in French, for an e-mail-based user model and the roles."""

import pytest

from mednum.accounts.models import RoleAssignment, User
from tests.factories import TEST_PASSWORD, RoleAssignmentFactory, SuperUserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(SuperUserFactory())
    return client


def test_user_changelist_and_search(admin_client):
    UserFactory(email="camille@exemple.fr", last_name="Durand")
    response = admin_client.get("/admin/accounts/user/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "camille@exemple.fr" in content
    assert "utilisateur" in content.lower()
    assert "Ajouter" in content  # the admin speaks French
    assert admin_client.get("/admin/accounts/user/", {"q": "durand"}).status_code == 200


def test_user_add_form_has_no_username(admin_client):
    response = admin_client.get("/admin/accounts/user/add/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="email"' in content
    assert 'name="username"' not in content


def test_user_add_creates_a_lowercased_account(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "Nouvelle.Personne@Exemple.fr",
            "first_name": "Nouvelle",
            "last_name": "Personne",
            "usable_password": "true",
            "password1": TEST_PASSWORD,
            "password2": TEST_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(email="nouvelle.personne@exemple.fr")
    assert user.check_password(TEST_PASSWORD)


def test_user_add_refuses_an_existing_address_whatever_its_case(admin_client):
    UserFactory(email="camille@exemple.fr")
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {"email": "CAMILLE@exemple.fr", "usable_password": "true", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
    )
    assert response.status_code == 200
    assert "Un compte utilise déjà cette adresse e-mail." in response.content.decode()


def test_user_change_form_with_role_inline(admin_client, territoires):
    assignment = RoleAssignmentFactory(role="moderateur_hub", departement=territoires.herault)
    response = admin_client.get(f"/admin/accounts/user/{assignment.user.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="username"' not in content
    assert "role_assignments-0-role" in content


def test_role_given_through_the_user_inline(admin_client, territoires):
    user = UserFactory(email="camille@exemple.fr")
    data = {
        "email": "camille@exemple.fr",
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
        "role_assignments-TOTAL_FORMS": "1",
        "role_assignments-INITIAL_FORMS": "0",
        "role_assignments-MIN_NUM_FORMS": "0",
        "role_assignments-MAX_NUM_FORMS": "1000",
        "role_assignments-0-role": "moderateur_hub",
        "role_assignments-0-region": "76",
        "role_assignments-0-departement": "",
        "role_assignments-0-epci": "",
        "role_assignments-0-content_type": "",
        "role_assignments-0-object_id": "",
    }
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment = RoleAssignment.objects.get(user=user)
    assert assignment.region_id == "76" and assignment.object_id is None
    assert user.can("lieu.moderate", territoires.montpellier)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/role/",
        "/admin/accounts/role/moderateur_hub/change/",
        "/admin/accounts/role/add/",
        "/admin/accounts/rolepermission/",
        "/admin/accounts/roleassignment/",
        "/admin/accounts/roleassignment/add/",
    ],
)
def test_role_admin_pages(admin_client, url):
    RoleAssignmentFactory(role="jure")
    assert admin_client.get(url).status_code == 200


def test_role_assignment_history_page(admin_client, territoires):
    assignment = RoleAssignmentFactory(role="gestionnaire_lieu", target=territoires.sete)
    assert admin_client.get(f"/admin/accounts/roleassignment/{assignment.pk}/history/").status_code == 200
    assert "Sète" in admin_client.get("/admin/accounts/roleassignment/").content.decode()


def test_admin_is_closed_to_non_staff(client):
    client.force_login(UserFactory())
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302


def test_admin_login_by_email_whatever_its_case(client):
    user = UserFactory(email="chef@exemple.fr", is_staff=True)
    page = client.get("/admin/login/")
    assert "Adresse e-mail" in page.content.decode()
    response = client.post("/admin/login/", {"username": "Chef@Exemple.FR", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_admin_login_refuses_non_staff_in_french(client):
    UserFactory(email="camille@exemple.fr")
    response = client.post("/admin/login/", {"username": "camille@exemple.fr", "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "sans accès à l&#x27;administration" in response.content.decode()
