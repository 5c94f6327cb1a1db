"""`can(user, action, obj)`: every role, every kind of scope, and the people who get no answer but no."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template

from mednum.accounts.models import Role, RolePermission
from mednum.accounts.permissions import can, can_anywhere, clear_permission_cache, has_role, territoire_codes
from tests.accounts.conftest import Chose
from tests.factories import RoleAssignmentFactory, SuperUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def person_with(role, **scope):
    return RoleAssignmentFactory(role=role, **scope).user


# --- Who gets nothing ------------------------------------------------------------------------------


def test_anonymous_may_do_nothing(territoires):
    chose = territoires.chose_a(territoires.montpellier)
    for user in (AnonymousUser(), None):
        assert not can(user, "lieu.propose")
        assert not can(user, "lieu.change", chose)
        assert not can_anywhere(user, "lieu.propose")


def test_person_without_role_may_do_nothing(territoires):
    user = UserFactory()
    assert not can(user, "lieu.propose")
    assert not can(user, "lieu.change", territoires.chose_a(territoires.montpellier))
    assert not can_anywhere(user, "lieu.change")


def test_inactive_person_loses_their_roles(territoires):
    user = person_with("moderateur_hub")
    user.is_active = False
    assert not can(user, "lieu.moderate")
    assert not can(user, "lieu.moderate", territoires.chose_a(territoires.montpellier))
    assert not can_anywhere(user, "lieu.moderate")
    assert not has_role(user, "moderateur_hub")


def test_unknown_action_is_refused_to_everyone_but_admins(territoires):
    assert not can(person_with("moderateur_hub"), "lieu.fly")
    assert can(person_with("admin"), "lieu.fly")


# --- Superuser and admin role ---------------------------------------------------------------------


def test_superuser_may_do_everything(territoires):
    user = SuperUserFactory()
    assert can(user, "lieu.change", territoires.chose_a(territoires.lyon))
    assert can(user, "candidature.score")
    assert can(user, "n_importe.quoi", territoires.occitanie)
    assert can_anywhere(user, "lieu.moderate")


def test_inactive_superuser_may_do_nothing(territoires):
    user = SuperUserFactory(is_active=False)
    assert not can(user, "lieu.change", territoires.chose_a(territoires.lyon))
    assert not can(user, "lieu.change")


def test_admin_role_may_do_everything(territoires):
    user = person_with("admin")
    for action in ("lieu.change", "lieu.moderate", "action.moderate", "candidature.score", "candidature.manage"):
        assert can(user, action)
        assert can(user, action, territoires.chose_a(territoires.nimes))
    assert has_role(user, "admin")


# --- contributeur -----------------------------------------------------------------------------------


def test_contributeur_proposes_but_does_not_edit_or_moderate(territoires):
    user = person_with("contributeur")
    chose = territoires.chose_a(territoires.sete)
    assert can(user, "lieu.propose")
    assert can(user, "lieu.suggest_change", chose)
    assert can(user, "action.propose", chose)
    assert not can(user, "lieu.change", chose)
    assert not can(user, "lieu.moderate", chose)
    assert not can(user, "action.moderate", chose)
    assert not can(user, "candidature.score", chose)


# --- gestionnaire_lieu: bound to one object ---------------------------------------------------------
# The lieux app is not built yet: territory rows stand in for "a lieu" (any model row is a valid target).


def test_gestionnaire_lieu_changes_their_object_only(territoires):
    user = person_with("gestionnaire_lieu", target=territoires.montpellier)
    assert can(user, "lieu.change", territoires.montpellier)
    assert can(user, "lieu.view_history", territoires.montpellier)
    assert not can(user, "lieu.change", territoires.sete)  # another object of the same kind
    assert not can(user, "lieu.moderate", territoires.montpellier)  # an action the role lacks
    assert not can(user, "lieu.change")  # not "everywhere"
    assert can_anywhere(user, "lieu.change")


def test_gestionnaire_lieu_target_does_not_spread_to_its_territory(territoires):
    user = person_with("gestionnaire_lieu", target=territoires.montpellier)
    # Something else located in Montpellier is not the target.
    assert not can(user, "lieu.change", territoires.chose_a(territoires.montpellier))


def test_target_match_needs_the_same_kind_of_object(territoires):
    """Région 76 (Occitanie) and département 76 (Seine-Maritime) share a key, not an identity."""
    from tests.factories import DepartementFactory, RegionFactory

    seine_maritime = DepartementFactory(code="76", nom="Seine-Maritime", region=RegionFactory(code="28", nom="Normandie"))
    user = person_with("gestionnaire_lieu", target=territoires.occitanie)
    assert can(user, "lieu.change", territoires.occitanie)
    assert not can(user, "lieu.change", seine_maritime)


def test_gestionnaire_lieu_of_several_objects(territoires):
    user = person_with("gestionnaire_lieu", target=territoires.montpellier)
    RoleAssignmentFactory(user=user, role="gestionnaire_lieu", target=territoires.nimes)
    assert can(user, "lieu.change", territoires.montpellier)
    assert can(user, "lieu.change", territoires.nimes)
    assert not can(user, "lieu.change", territoires.lyon)


# --- moderateur_hub: scoped to a territory ----------------------------------------------------------


def test_moderateur_hub_region_scope(territoires):
    user = person_with("moderateur_hub", region=territoires.occitanie)
    for commune in (territoires.montpellier, territoires.sete, territoires.nimes):
        assert can(user, "lieu.moderate", territoires.chose_a(commune))
        assert can(user, "action.moderate", territoires.chose_a(commune))
        assert can(user, "lieu.moderate", commune)
    assert not can(user, "lieu.moderate", territoires.chose_a(territoires.lyon))
    assert not can(user, "lieu.moderate", territoires.lyon)
    # Territories themselves.
    assert can(user, "lieu.moderate", territoires.occitanie)
    assert can(user, "lieu.moderate", territoires.herault)
    assert not can(user, "lieu.moderate", territoires.ara)
    assert not can(user, "lieu.moderate", territoires.rhone)
    # Not everywhere, but somewhere; and never what the role does not grant.
    assert not can(user, "lieu.moderate")
    assert can_anywhere(user, "lieu.moderate")
    assert not can(user, "candidature.score", territoires.chose_a(territoires.montpellier))


def test_moderateur_hub_departement_scope(territoires):
    user = person_with("moderateur_hub", departement=territoires.herault)
    assert can(user, "lieu.change", territoires.chose_a(territoires.montpellier))
    assert can(user, "lieu.moderate", territoires.chose_a(territoires.sete))
    assert can(user, "lieu.moderate", territoires.herault)
    assert not can(user, "lieu.moderate", territoires.chose_a(territoires.nimes))  # same région, other département
    assert not can(user, "lieu.moderate", territoires.gard)
    assert not can(user, "lieu.moderate", territoires.occitanie)  # the région is wider than the scope


def test_moderateur_hub_epci_scope(territoires):
    user = person_with("moderateur_hub", epci=territoires.montpellier_metropole)
    assert can(user, "lieu.moderate", territoires.chose_a(territoires.montpellier))
    assert can(user, "lieu.moderate", territoires.montpellier)  # a member commune
    assert can(user, "lieu.moderate", territoires.montpellier_metropole)
    assert not can(user, "lieu.moderate", territoires.chose_a(territoires.sete))  # same département, other EPCI
    assert not can(user, "lieu.moderate", territoires.sete)
    assert not can(user, "lieu.moderate", territoires.herault)


def test_scope_with_partial_codes(territoires):
    """An object that only knows its département is covered by a département scope, not by an EPCI one."""
    chose = Chose(departement="34")
    assert can(person_with("moderateur_hub", departement=territoires.herault), "lieu.moderate", chose)
    assert not can(person_with("moderateur_hub", epci=territoires.montpellier_metropole), "lieu.moderate", chose)
    assert not can(person_with("moderateur_hub", region=territoires.occitanie), "lieu.moderate", chose)


def test_object_without_location_is_only_covered_by_global_roles(territoires):
    class Nowhere:
        pass

    assert not can(person_with("moderateur_hub", region=territoires.occitanie), "lieu.moderate", Nowhere())
    assert can(person_with("moderateur_hub"), "lieu.moderate", Nowhere())


def test_moderateur_hub_on_two_territories(territoires):
    user = person_with("moderateur_hub", departement=territoires.herault)
    RoleAssignmentFactory(user=user, role="moderateur_hub", departement=territoires.rhone)
    assert can(user, "lieu.moderate", territoires.chose_a(territoires.montpellier))
    assert can(user, "lieu.moderate", territoires.chose_a(territoires.lyon))
    assert not can(user, "lieu.moderate", territoires.chose_a(territoires.nimes))


def test_moderateur_hub_without_scope_moderates_everywhere(territoires):
    user = person_with("moderateur_hub")
    assert can(user, "lieu.moderate")
    assert can(user, "lieu.moderate", territoires.chose_a(territoires.lyon))


def test_epci_straddling_two_departements(territoires):
    """An EPCI lies in a département only when all its communes do."""
    from tests.factories import CommuneFactory, EpciFactory

    epci = EpciFactory(code="200000001", nom="Communauté à cheval")
    CommuneFactory(code="34999", nom="Village héraultais", departement=territoires.herault, epci=epci)
    CommuneFactory(code="30999", nom="Village gardois", departement=territoires.gard, epci=epci)
    assert territoire_codes(epci) == {"epci": "200000001", "region": "76"}
    assert not can(person_with("moderateur_hub", departement=territoires.herault), "lieu.moderate", epci)
    assert can(person_with("moderateur_hub", region=territoires.occitanie), "lieu.moderate", epci)
    assert territoire_codes(territoires.montpellier_metropole) == {
        "epci": "243400017",
        "departement": "34",
        "region": "76",
    }


# --- equipe_label and jure ----------------------------------------------------------------------------


def test_equipe_label_manages_applications_but_does_not_score(territoires):
    user = person_with("equipe_label")
    candidature = territoires.chose_a(territoires.nimes)
    assert can(user, "candidature.manage", candidature)
    assert can(user, "candidature.view", candidature)
    assert can(user, "campagne.manage")
    assert not can(user, "candidature.score", candidature)
    assert not can(user, "lieu.change", candidature)
    assert not can(user, "lieu.moderate", candidature)


def test_jure_scores_but_does_not_manage(territoires):
    user = person_with("jure")
    candidature = territoires.chose_a(territoires.lyon)
    assert can(user, "candidature.score", candidature)
    assert can(user, "candidature.view", candidature)
    assert not can(user, "candidature.manage", candidature)
    assert not can(user, "campagne.manage")
    assert not can(user, "lieu.change", candidature)


def test_regional_jury_scores_its_region_only(territoires):
    user = person_with("jure", region=territoires.ara)
    assert can(user, "candidature.score", territoires.chose_a(territoires.lyon))
    assert not can(user, "candidature.score", territoires.chose_a(territoires.montpellier))


# --- Permissions are data -----------------------------------------------------------------------------


def test_seeded_roles_and_actions():
    roles = {role.slug: role for role in Role.objects.prefetch_related("permissions")}
    assert set(roles) >= {"contributeur", "gestionnaire_lieu", "moderateur_hub", "equipe_label", "jure", "admin"}
    actions = {slug: {p.action for p in role.permissions.all()} for slug, role in roles.items()}
    assert {"lieu.change", "lieu.moderate", "action.moderate"} <= actions["moderateur_hub"]
    assert "lieu.change" in actions["gestionnaire_lieu"]
    assert {"candidature.manage"} <= actions["equipe_label"]
    assert {"candidature.score"} <= actions["jure"]
    assert actions["admin"] == {"*"}
    assert all(role.label and role.description for role in roles.values())


def test_granting_an_action_to_a_role_is_a_row(territoires):
    user = person_with("contributeur")
    chose = territoires.chose_a(territoires.sete)
    assert not can(user, "lieu.change", chose)
    RolePermission.objects.create(role_id="contributeur", action="lieu.change")
    clear_permission_cache(user)
    assert can(user, "lieu.change", chose)


def test_wildcard_action(territoires):
    role = Role.objects.create(slug="equipe_lieux", label="Équipe des lieux")
    RolePermission.objects.create(role=role, action="lieu.*")
    user = person_with("equipe_lieux")
    assert can(user, "lieu.change")
    assert can(user, "lieu.whatever", territoires.chose_a(territoires.lyon))
    assert not can(user, "action.moderate")
    assert not can(user, "lieux.change")


def test_assignments_are_read_once_per_user_object(territoires, django_assert_num_queries):
    user = person_with("moderateur_hub", departement=territoires.herault)
    RoleAssignmentFactory(user=user, role="jure")
    user = type(user).objects.get(pk=user.pk)  # a fresh object, as in a new request
    chose = territoires.chose_a(territoires.montpellier)
    with django_assert_num_queries(1):
        assert can(user, "lieu.moderate", chose)
        assert not can(user, "lieu.moderate", territoires.chose_a(territoires.lyon))
        assert can(user, "candidature.score")
        assert not can(user, "candidature.manage")
        assert can_anywhere(user, "lieu.change")
        assert has_role(user, "jure")


def test_user_can_shortcut(territoires):
    user = person_with("moderateur_hub", region=territoires.occitanie)
    assert user.can("lieu.moderate", territoires.montpellier)
    assert not user.can("lieu.moderate", territoires.lyon)


# --- Template tag ---------------------------------------------------------------------------------------


def test_can_template_tag(territoires):
    template = Template(
        "{% load accounts_tags %}"
        '{% can user "lieu.change" obj as allowed %}{% if allowed %}oui{% else %}non{% endif %}'
        '|{% can_anywhere user "lieu.moderate" as somewhere %}{{ somewhere }}'
    )
    user = person_with("moderateur_hub", departement=territoires.herault)
    assert template.render(Context({"user": user, "obj": territoires.montpellier})) == "oui|True"
    assert template.render(Context({"user": user, "obj": territoires.lyon})) == "non|True"
    assert template.render(Context({"user": AnonymousUser(), "obj": territoires.lyon})) == "non|False"
