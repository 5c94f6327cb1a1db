"""Admin: people (by e-mail address), roles, what each role may do, and who holds which role where."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from mednum.accounts.forms import EmailAdminAuthenticationForm, UserAdminChangeForm, UserAdminCreationForm
from mednum.accounts.models import Role, RoleAssignment, RolePermission, User

# The admin's login page asks for the e-mail address too, whatever its case.
admin.site.login_form = EmailAdminAuthenticationForm

ASSIGNMENT_FIELDS = ("role", "region", "departement", "epci", "content_type", "object_id")


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    fields = ASSIGNMENT_FIELDS
    extra = 0
    verbose_name = "rôle attribué"
    verbose_name_plural = (
        "Rôles attribués — laisser région, département, EPCI et objet vides pour un rôle valable partout ; "
        "n'en remplir qu'un seul sinon"
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    inlines = [RoleAssignmentInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Identité", {"fields": ("first_name", "last_name")}),
        (
            "Accès",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Ce que chacun peut faire sur la plateforme dépend surtout de ses rôles, plus bas. "
                "« Statut équipe » ouvre l'accès à cette administration.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("email", "first_name", "last_name", "roles_display", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "role_assignments__role")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_assignments__role")

    @admin.display(description="rôles")
    def roles_display(self, obj):
        labels = sorted({assignment.role.label for assignment in obj.role_assignments.all()})
        return ", ".join(labels) or "—"


class RolePermissionInline(admin.TabularInline):
    model = RolePermission
    extra = 1


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("label", "slug", "actions_display", "assignment_count")
    search_fields = ("slug", "label", "description")
    inlines = [RolePermissionInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("permissions")
            .annotate(assignment_count=Count("assignments", distinct=True))
        )

    def get_readonly_fields(self, request, obj=None):
        # The slug is what code and data refer to: fixed once the role exists.
        return ("slug",) if obj is not None else ()

    @admin.display(description="actions permises")
    def actions_display(self, obj):
        return ", ".join(permission.action for permission in obj.permissions.all()) or "—"

    @admin.display(description="personnes", ordering="assignment_count")
    def assignment_count(self, obj):
        return obj.assignment_count


@admin.register(RolePermission)
class RolePermissionAdmin(admin.ModelAdmin):
    list_display = ("action", "role")
    list_filter = ("role",)
    search_fields = ("action", "role__label")
    list_select_related = ("role",)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(SimpleHistoryAdmin):
    list_display = ("user", "role", "scope_display", "created_at")
    list_filter = ("role", "region")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    list_select_related = ("user", "role", "region", "departement", "epci", "content_type")
    autocomplete_fields = ("user",)
    fields = ("user",) + ASSIGNMENT_FIELDS + ("created_at",)
    readonly_fields = ("created_at",)

    @admin.display(description="périmètre")
    def scope_display(self, obj):
        return obj.scope_label
