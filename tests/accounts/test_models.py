"""Users log in by e-mail; a role assignment has at most one scope."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from mednum.accounts.models import Role, RoleAssignment, User
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_user_lowercases_email():
    user = User.objects.create_user("Marie.Curie@Exemple.FR", "un-mot-de-passe-solide")
    assert user.email == "marie.curie@exemple.fr"
    assert user.check_password("un-mot-de-passe-solide")
    assert User.objects.get_by_natural_key("MARIE.curie@exemple.fr") == user


def test_create_superuser():
    user = User.objects.create_superuser("chef@exemple.fr", "un-mot-de-passe-solide")
    assert user.is_staff and user.is_superuser
    assert str(user) == "chef@exemple.fr"


def test_two_scopes_are_refused_by_the_database(territoires):
    user = UserFactory()
    role = Role.objects.get(slug="moderateur_hub")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=role, region=territoires.occitanie, departement=territoires.herault)


def test_half_a_target_is_refused_by_the_database(territoires):
    from django.contrib.contenttypes.models import ContentType

    user = UserFactory()
    role = Role.objects.get(slug="gestionnaire_lieu")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=user, role=role, content_type=ContentType.objects.get_for_model(User))


def test_clean_explains_scope_errors(territoires):
    from django.contrib.contenttypes.models import ContentType

    user = UserFactory()
    role = Role.objects.get(slug="moderateur_hub")
    with pytest.raises(ValidationError, match="une seule région"):
        RoleAssignment(user=user, role=role, epci=territoires.sete_agglo, departement=territoires.herault).full_clean()
    commune_type = ContentType.objects.get_for_model(territoires.montpellier)
    with pytest.raises(ValidationError, match="Aucun objet"):
        RoleAssignment(user=user, role=role, content_type=commune_type, object_id="00000").full_clean()
    with pytest.raises(ValidationError):
        RoleAssignment(user=user, role=role, object_id="34172").full_clean()
    RoleAssignment(user=user, role=role, content_type=commune_type, object_id="34172").full_clean()


def test_clean_refuses_duplicates(territoires):
    existing = RoleAssignmentFactory(role="moderateur_hub", departement=territoires.herault)
    duplicate = RoleAssignment(user=existing.user, role=existing.role, departement=territoires.herault)
    with pytest.raises(ValidationError, match="déjà ce rôle"):
        duplicate.full_clean()
    RoleAssignment(user=existing.user, role=existing.role, departement=territoires.gard).full_clean()


def test_scope_label(territoires):
    assert RoleAssignmentFactory(role="contributeur").scope_label == "partout"
    assert RoleAssignmentFactory(role="moderateur_hub", region=territoires.occitanie).scope_label == "région Occitanie"
    assert (
        RoleAssignmentFactory(role="moderateur_hub", departement=territoires.herault).scope_label
        == "département Hérault (34)"
    )
    target_bound = RoleAssignmentFactory(role="gestionnaire_lieu", target=territoires.sete)
    assert "Sète (34301)" in target_bound.scope_label


def test_role_assignments_are_historised(territoires):
    assignment = RoleAssignmentFactory(role="moderateur_hub", region=territoires.occitanie)
    pk = assignment.pk
    assignment.delete()
    assert list(RoleAssignment.history.filter(id=pk).values_list("history_type", flat=True)) == ["-", "+"]
