"""Admin for the territorial reference data: searchable, read-only.

These rows come from the files under `data/` (`manage.py load_territoires`): an edit made here would be
overwritten by the next load, so the admin only shows them. To correct a value, rebuild the files.
"""

from django.contrib import admin
from django.db.models import Count

from .models import CodePostal, Commune, Departement, Epci, Region
from .text import normalise


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: no add, change or delete (a change would be lost at the next load)."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ("code", "nom", "zone", "chef_lieu")
    list_filter = ("zone",)
    search_fields = ("=code", "nom")


@admin.register(Departement)
class DepartementAdmin(ReadOnlyAdmin):
    list_display = ("code", "nom", "region", "zone", "chef_lieu")
    list_filter = ("zone", "region")
    list_select_related = ("region",)
    search_fields = ("=code", "nom")


@admin.register(Epci)
class EpciAdmin(ReadOnlyAdmin):
    list_display = ("code", "nom", "type", "population", "nombre_communes")
    list_filter = ("type",)
    search_fields = ("=code", "nom")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_nombre_communes=Count("communes"))

    @admin.display(description="communes", ordering="_nombre_communes")
    def nombre_communes(self, obj):
        return obj._nombre_communes


class CodePostalInline(admin.TabularInline):
    model = CodePostal
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Commune)
class CommuneAdmin(ReadOnlyAdmin):
    list_display = ("code", "nom", "departement", "liste_codes_postaux", "population", "epci", "coordonnees_source")
    list_filter = ("zone", "coordonnees_source", "region")
    list_select_related = ("departement", "epci")
    # Code INSEE (prefix), name as written, exact postal code; the name is also matched without
    # accents, case or hyphens through `nom_recherche` (see get_search_results).
    search_fields = ("^code", "nom", "=postal_codes__code")
    search_help_text = "Nom (avec ou sans accents), code INSEE ou code postal."
    inlines = [CodePostalInline]
    fieldsets = (
        (None, {"fields": ("code", "nom", "nom_recherche", "slug", "population", "codes_postaux")}),
        ("Rattachements", {"fields": ("departement", "region", "epci", "zone")}),
        ("Position", {"fields": ("latitude", "longitude", "coordonnees_source")}),
    )

    @admin.display(description="codes postaux")
    def liste_codes_postaux(self, obj):
        return " ".join(obj.codes_postaux)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        key = normalise(search_term)
        if key:
            results |= queryset.filter(nom_recherche__contains=key)
        return results, may_have_duplicates


@admin.register(CodePostal)
class CodePostalAdmin(ReadOnlyAdmin):
    list_display = ("code", "commune")
    list_select_related = ("commune",)
    search_fields = ("^code", "commune__nom", "=commune__code")
