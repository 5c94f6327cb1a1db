"""The platform's roles and the actions each one grants.

The data are frozen here (a migration must not import application code that may change later).
Later changes to roles or their actions: a new data migration, or the admin.

Action names are « objet.verbe »:
- lieu.propose, lieu.suggest_change: propose a new lieu, suggest a correction to a lieu;
- lieu.change: edit a lieu's card; lieu.view_history: see its history;
- lieu.moderate: accept or reject proposals and corrections; lieu.assign_manager: name a lieu's managers;
- action.propose, action.change, action.moderate: the atlas of local authorities' digital actions;
- candidature.view, candidature.manage, candidature.score: the yearly label's applications;
- campagne.manage: open and close a label campaign, set its criteria;
- « * »: every action (the admin role).
"""

from django.db import migrations

ROLES = [
    (
        "contributeur",
        "Contributeur",
        "Propose de nouveaux lieux, des corrections de lieux existants et des actions pour l'atlas.",
        ["lieu.propose", "lieu.suggest_change", "action.propose"],
    ),
    (
        "gestionnaire_lieu",
        "Gestionnaire de lieu",
        "Tient à jour la fiche d'un lieu (horaires, services, contacts). Attribué pour un lieu précis.",
        ["lieu.change", "lieu.view_history", "lieu.suggest_change"],
    ),
    (
        "moderateur_hub",
        "Modérateur de hub",
        "Modère les lieux et les actions de son territoire (région, département ou EPCI) "
        "et désigne les gestionnaires de lieux.",
        [
            "lieu.propose",
            "lieu.change",
            "lieu.view_history",
            "lieu.moderate",
            "lieu.assign_manager",
            "action.propose",
            "action.change",
            "action.moderate",
        ],
    ),
    (
        "equipe_label",
        "Équipe du label",
        "Organise le label « Territoires, Villes et Villages Internet » : campagnes, candidatures, jurys.",
        ["campagne.manage", "candidature.view", "candidature.manage"],
    ),
    (
        "jure",
        "Juré",
        "Évalue et note les candidatures au label qui lui sont confiées.",
        ["candidature.view", "candidature.score"],
    ),
    (
        "admin",
        "Administrateur",
        "Tous les droits sur la plateforme.",
        ["*"],
    ),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for slug, label, description, actions in ROLES:
        role, _ = Role.objects.update_or_create(slug=slug, defaults={"label": label, "description": description})
        for action in actions:
            RolePermission.objects.get_or_create(role=role, action=action)


def delete_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    RolePermission = apps.get_model("accounts", "RolePermission")
    slugs = [slug for slug, *_ in ROLES]
    RolePermission.objects.filter(role_id__in=slugs).delete()
    Role.objects.filter(slug__in=slugs, assignments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(create_roles, delete_roles),
    ]
