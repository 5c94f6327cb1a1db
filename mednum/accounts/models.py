"""Accounts: people log in with their e-mail address; what they may do comes from their roles.

Roles and what each role may do are rows, not code: `Role` lists the roles, `RolePermission` the
actions a role grants (``lieu.change``, ``candidature.score``…), and `RoleAssignment` gives a role to
a person, everywhere or within a territory (région, département or EPCI), or on one object only
(« gestionnaire du lieu 42 »). `mednum.accounts.permissions.can()` reads them.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("L'adresse e-mail est obligatoire.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractUser):
    username = None
    email = models.EmailField("adresse e-mail", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = "utilisateur"

    def __str__(self):
        return self.get_full_name() or self.email

    def clean(self):
        super().clean()
        self.email = (self.email or "").strip().lower()

    def can(self, action: str, obj=None) -> bool:
        """Shortcut for `mednum.accounts.permissions.can(self, action, obj)`."""
        from mednum.accounts.permissions import can

        return can(self, action, obj)


class Role(models.Model):
    """A role someone can be given: contributeur, gestionnaire de lieu, modérateur de hub…"""

    slug = models.SlugField("identifiant", max_length=50, primary_key=True)
    label = models.CharField("libellé", max_length=100)
    description = models.TextField("description", blank=True)

    class Meta:
        ordering = ["label"]
        verbose_name = "rôle"

    def __str__(self):
        return self.label


action_validator = RegexValidator(
    r"^(\*|[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_]*))$",
    "Une action s'écrit « objet.verbe » en minuscules (par exemple lieu.change), "
    "« objet.* » pour toutes les actions sur un objet, ou « * » pour toutes les actions.",
)


class RolePermission(models.Model):
    """One action a role grants. ``lieu.*`` grants every action on lieux, ``*`` every action."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions", verbose_name="rôle")
    action = models.CharField(
        "action",
        max_length=100,
        validators=[action_validator],
        help_text="Par exemple lieu.change, lieu.moderate, action.moderate, candidature.score ; "
        "« lieu.* » pour toutes les actions sur les lieux, « * » pour toutes les actions.",
    )

    class Meta:
        ordering = ["role", "action"]
        verbose_name = "permission d'un rôle"
        verbose_name_plural = "permissions des rôles"
        constraints = [models.UniqueConstraint(fields=["role", "action"], name="unique_role_action")]

    def __str__(self):
        return f"{self.role_id} : {self.action}"


class RoleAssignment(models.Model):
    """Gives a role to someone: everywhere, within one territory, or on one object only.

    At most one of `region`, `departement`, `epci` and the target (`content_type` + `object_id`) is
    set. None set: the role applies everywhere. A territory: the role applies to what lies in it. A
    target: the role applies to that object alone (e.g. the manager of one lieu).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="role_assignments",
        verbose_name="utilisateur",
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments", verbose_name="rôle")
    # A territory that disappears (EPCI merger…) takes its scoped roles with it: never widen a scope.
    region = models.ForeignKey(
        "territoires.Region", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name="région"
    )
    departement = models.ForeignKey(
        "territoires.Departement",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="département",
    )
    epci = models.ForeignKey(
        "territoires.Epci", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name="EPCI"
    )
    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="type de l'objet",
        help_text="Pour un rôle limité à un seul objet (par exemple un lieu).",
    )
    object_id = models.CharField(
        "identifiant de l'objet", max_length=64, null=True, blank=True, help_text="Identifiant (clé) de cet objet."
    )
    target = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField("attribué le", auto_now_add=True)

    history = HistoricalRecords(verbose_name="historique des rôles attribués",
                                verbose_name_plural="historiques des rôles attribués")

    SCOPE_FIELDS = ("region", "departement", "epci")

    class Meta:
        ordering = ["user", "role"]
        verbose_name = "rôle attribué"
        verbose_name_plural = "rôles attribués"
        indexes = [models.Index(fields=["content_type", "object_id"], name="roleassignment_target_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(content_type__isnull=True, object_id__isnull=True)
                | models.Q(content_type__isnull=False, object_id__isnull=False),
                name="roleassignment_target_complete",
                violation_error_message="Le type et l'identifiant de l'objet vont ensemble.",
            ),
            models.CheckConstraint(
                # At most one of the four scopes: at least three of them are empty.
                condition=models.Q(departement__isnull=True, epci__isnull=True, content_type__isnull=True)
                | models.Q(region__isnull=True, epci__isnull=True, content_type__isnull=True)
                | models.Q(region__isnull=True, departement__isnull=True, content_type__isnull=True)
                | models.Q(region__isnull=True, departement__isnull=True, epci__isnull=True),
                name="roleassignment_single_scope",
                violation_error_message="Un rôle s'applique à une seule région, un seul département, "
                "un seul EPCI ou un seul objet.",
            ),
        ]

    def __str__(self):
        return f"{self.user} — {self.role} ({self.scope_label})"

    @property
    def is_global(self) -> bool:
        return not (self.region_id or self.departement_id or self.epci_id or self.content_type_id)

    @property
    def scope_label(self) -> str:
        """Where the role applies, in words."""
        if self.region_id:
            return f"région {self.region}"
        if self.departement_id:
            return f"département {self.departement}"
        if self.epci_id:
            return f"EPCI {self.epci}"
        if self.content_type_id:
            try:
                target = self.target
            except (ObjectDoesNotExist, AttributeError):
                target = None
            name = self.content_type.name
            return f"{name} {target}" if target is not None else f"{name} n° {self.object_id}"
        return "partout"

    def clean(self):
        super().clean()
        if self.object_id == "":
            self.object_id = None
        scopes = [name for name in self.SCOPE_FIELDS if getattr(self, f"{name}_id")]
        if self.content_type_id or self.object_id:
            scopes.append("content_type")
        if len(scopes) > 1:
            raise ValidationError(
                "Un rôle s'applique à une seule région, un seul département, un seul EPCI ou un seul objet : "
                "laissez les autres champs vides."
            )
        if bool(self.content_type_id) != bool(self.object_id):
            raise ValidationError(
                {"object_id": "Indiquez à la fois le type et l'identifiant de l'objet, ou aucun des deux."}
            )
        if self.content_type_id and self.object_id:
            model = self.content_type.model_class()
            try:
                found = model is not None and model._default_manager.filter(pk=self.object_id).exists()
            except (ValueError, TypeError, OverflowError):  # « abc » or « 1.5 » for a numeric key
                found = False
            if not found:
                raise ValidationError({"object_id": "Aucun objet de ce type ne porte cet identifiant."})
        if self.user_id and self.role_id:
            duplicates = RoleAssignment.objects.filter(
                user_id=self.user_id,
                role_id=self.role_id,
                region_id=self.region_id,
                departement_id=self.departement_id,
                epci_id=self.epci_id,
                content_type_id=self.content_type_id,
                object_id=self.object_id,
            ).exclude(pk=self.pk)
            if duplicates.exists():
                raise ValidationError("Cette personne a déjà ce rôle sur ce périmètre.")
