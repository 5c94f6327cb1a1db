"""Administration of lieux, their source records, and the review queue of possible duplicates."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from mednum.lieux import dedup, edition, hours
from mednum.lieux.models import DedupDecision, DedupPair, Lieu, SourceRecord
from mednum.territoires.models import Commune
from mednum.territoires.text import CleTexte, motif_like, normalise


def lieux_correspondants(queryset, texte: str):
    """The lieux of `queryset` matching every word of `texte` (the administration's search): in their
    name without regard to accents, case or punctuation (« mediatheque », « MÉDIATHÈQUE » and
    « médiathèque » find « Médiathèque d'Agen »), in the name of their commune (likewise for a commune
    of the database, as written otherwise), in their id, postal code or INSEE code, or equal to their
    SIRET (pivot). A word in quotes stays whole (« "saint jean" »)."""
    queryset = queryset.alias(nom_cle=CleTexte("nom"))
    for mot in smart_split(texte):
        if mot[:1] in "\"'" and mot[-1:] == mot[:1]:
            mot = unescape_string_literal(mot)
        mot = mot.strip()
        if not mot:
            continue
        trouve = (Q(id_standard__icontains=mot) | Q(code_postal__icontains=mot) | Q(code_insee__icontains=mot)
                  | Q(pivot=mot))
        cle = normalise(mot)
        if cle:
            # The name's key is computed only where the name as written may hold it (`motif_like`: at a
            # million lieux, computing it on every name took 8 s); the commune through the communes' own
            # key (`nom_recherche`, ~35,000 rows read once), and as written on the lieu.
            communes = Commune.objects.filter(nom_recherche__contains=cle).values("code")
            trouve |= (Q(nom__motif=motif_like(cle)) & Q(nom_cle__contains=cle)) | Q(commune_id__in=communes) | Q(
                commune_nom__icontains=mot)
        queryset = queryset.filter(trouve)
    return queryset


def lieux_cherches(search_term: str):
    """(ids of the lieux the administration's search finds for `search_term`, as a subquery; the term
    stripped), for the lists that search through their lieux (`lieux_correspondants`). The subquery is
    None for an empty search."""
    terme = search_term.strip()
    if not terme:
        return None, terme
    return lieux_correspondants(Lieu.objects.all(), terme).values("id"), terme


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SourceRecordInline(ReadOnlyMixin, admin.TabularInline):
    model = SourceRecord
    fields = ("source", "source_id", "date_maj", "imported_at", "updated_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    verbose_name = "enregistrement source"
    verbose_name_plural = "sources de ce lieu"


class FusionneFilter(admin.SimpleListFilter):
    title = "fusion"
    parameter_name = "fusion"

    def lookups(self, request, model_admin):
        return [("publics", "Lieux publiés"), ("redirections", "Fusionnés dans un autre lieu")]

    def queryset(self, request, queryset):
        if self.value() == "publics":
            return queryset.filter(fusionne_dans__isnull=True)
        if self.value() == "redirections":
            return queryset.filter(fusionne_dans__isnull=False)
        return queryset


class LieuAdminForm(forms.ModelForm):
    """The lieu's columns, checked by the standard's normaliser as an import would (`edition.check`)."""

    class Meta:
        model = Lieu
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        columns = {name: getattr(self.instance, name, None) for name in self.fields}
        columns.update(cleaned)
        edit = edition.check(columns, self.changed_data)
        for column, reasons in edit.errors.items():
            target = column if column in self.fields else None
            if target is not None and (target in self.errors or self._refused_by_model(target, columns[target])):
                continue  # the field's own check says more precisely what is wrong
            for reason in reasons:
                self.add_error(target, reason)
        self.edit = edit
        # The id is stored as the normaliser writes it (a tab or a no-break space becomes a space): the
        # model's uniqueness check, which runs after this, must see that value.
        if "id_standard" in cleaned and edit.values.get("id"):
            cleaned["id_standard"] = edit.values["id"]
        return cleaned

    @staticmethod
    def _refused_by_model(column: str, value) -> bool:
        """Whether the model field's validators (checked after this form's `clean`) refuse the value."""
        if value is None:
            return False
        try:
            Lieu._meta.get_field(column).run_validators(value)
        except ValidationError:
            return True
        return False


class HorairesFilter(admin.SimpleListFilter):
    """Lieux whose opening hours cannot be read (shown as given on their page, never in « ouvert
    maintenant »): for moderators to fix them."""

    title = "horaires"
    parameter_name = "horaires"
    ILLISIBLES = "illisibles"

    def lookups(self, request, model_admin):
        return [(self.ILLISIBLES, "Illisibles (à corriger)"), ("absents", "Non renseignés")]

    def queryset(self, request, queryset):
        if self.value() == self.ILLISIBLES:
            return hours.invalid_hours_queryset(queryset)
        if self.value() == "absents":
            return queryset.filter(horaires="")
        return queryset


@admin.register(Lieu)
class LieuAdmin(admin.ModelAdmin):
    form = LieuAdminForm
    list_display = ("nom", "commune_nom", "code_postal", "id_standard", "source", "date_maj", "est_demo")
    list_filter = (FusionneFilter, HorairesFilter, "est_demo", "position_precision", "date_maj")
    search_fields = ("nom", "commune_nom", "id_standard", "code_postal", "code_insee", "=pivot")
    search_help_text = "Nom ou commune (avec ou sans accents), identifiant, code postal, code INSEE ou SIRET."
    readonly_fields = ("lecture_des_horaires", "fusionne_dans", "slug", "commune", "cree_le", "modifie_le")
    list_select_related = ()
    show_full_result_count = False
    inlines = [SourceRecordInline]
    fieldsets = [
        ("Identification", {
            "fields": ("id_standard", "pivot", "nom", "typologie", "structure_parente", "source", "date_maj"),
            "description": "Les valeurs sont vérifiées et écrites comme lors d'un import (téléphone, courriels, "
                           "listes du standard). Ce lieu est tiré de ses sources : une modification faite ici "
                           "est remplacée quand l'une d'elles le met à jour (nouvel import d'une ligne modifiée, "
                           "fusion ou séparation de doublons).",
        }),
        ("Adresse", {"fields": ("adresse", "complement_adresse", "code_postal", "commune_nom", "code_insee",
                                "latitude", "longitude", "position_precision")}),
        ("Contact", {"fields": ("telephone", "courriels", "site_web", "horaires", "lecture_des_horaires", "prise_rdv",
                                "fiche_acces_libre")}),
        ("Présentation", {"fields": ("presentation_resume", "presentation_detail")}),
        ("Offre", {"fields": ("services", "publics_specifiquement_adresses", "prise_en_charge_specifique",
                              "frais_a_charge", "dispositif_programmes_nationaux", "formations_labels",
                              "autres_formations_labels", "modalites_acces", "modalites_accompagnement",
                              "itinerance")}),
        ("Gestion", {"fields": ("est_demo", "fusionne_dans", "slug", "commune", "cree_le", "modifie_le")}),
    ]

    def get_search_results(self, request, queryset, search_term):
        """Search without regard to accents (`lieux_correspondants`); `search_fields` above only shows
        the search box and says what it looks in."""
        return lieux_correspondants(queryset, search_term), False

    def get_list_display(self, request):
        """The list of lieux with unreadable hours also says what is wrong with each."""
        if request.GET.get(HorairesFilter.parameter_name) == HorairesFilter.ILLISIBLES:
            return (*self.list_display[:2], "horaires", "lecture_des_horaires")
        return self.list_display

    @admin.display(description="lecture des horaires")
    def lecture_des_horaires(self, obj) -> str:
        """How the site reads the hours: what is wrong when they cannot be read."""
        if obj is None or not obj.horaires:
            return "Non renseignés."
        message = hours.erreur(obj.horaires)
        if message:
            return f"Illisibles, montrés tels quels sur la fiche et ignorés par « ouvert maintenant » : {message}"
        return "Lisibles."

    def save_model(self, request, obj, form, change):
        edition.apply(obj, form.edit, precision_chosen="position_precision" in form.changed_data)
        super().save_model(request, obj, form, change)
        for column, notices in form.edit.notices.items():
            label = form.fields[column].label if column in form.fields else ""
            for notice in notices:
                self.message_user(request, f"{label} : {notice}" if label else notice, messages.WARNING)


@admin.register(SourceRecord)
class SourceRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("source", "source_id", "lieu", "date_maj", "updated_at")
    list_filter = ("source",)
    search_fields = ("=source_id", "lieu__nom", "lieu__id_standard")
    search_help_text = ("Identifiant dans la source (exact), ou le lieu : nom ou commune (avec ou sans accents), "
                        "identifiant, code postal, code INSEE ou SIRET.")
    list_select_related = ("lieu",)
    show_full_result_count = False
    fields = ("source", "source_id", "lieu", "date_maj", "imported_at", "updated_at", "content_hash",
              "normalised_pretty", "raw_pretty")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        """The records with this identifier in their source, or of the lieux the lieux' search finds
        (`lieux_correspondants`: without regard to accents)."""
        lieux, terme = lieux_cherches(search_term)
        if lieux is None:
            return queryset, False
        return queryset.filter(Q(source_id=terme) | Q(lieu__in=lieux)), False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm("lieux.view_lieu")

    @admin.display(description="enregistrement au standard")
    def normalised_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.normalised, ensure_ascii=False, indent=2))

    @admin.display(description="enregistrement brut")
    def raw_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.raw, ensure_ascii=False, indent=2))


def _describe(record: SourceRecord) -> str:
    values = record.normalised or {}
    return format_html(
        "<strong>{}</strong><br>{}<br>{} {}<br><small>{} · {}</small>",
        values.get("nom", ""), values.get("adresse", ""), values.get("code_postal", ""),
        values.get("commune", ""), record.source, record.source_id,
    )


@admin.register(DedupPair)
class DedupPairAdmin(admin.ModelAdmin):
    list_display = ("lieu_a", "lieu_b", "score_display", "distance_display", "status")
    list_filter = ("status",)
    search_fields = ("record_a__lieu__nom", "record_b__lieu__nom", "record_a__source_id", "record_b__source_id")
    search_help_text = ("Identifiant dans une source, ou l'un des deux lieux : nom ou commune (avec ou sans "
                        "accents), identifiant, code postal, code INSEE ou SIRET.")
    list_select_related = ("record_a", "record_b")
    actions = ["action_meme_lieu", "action_lieux_differents"]
    readonly_fields = ("lieu_a", "lieu_b", "score", "details", "distance_m", "status", "cree_le", "modifie_le")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("lieux.change_deduppair")

    def get_search_results(self, request, queryset, search_term):
        """The pairs with this text in the identifier of one of their records, or one of whose lieux the
        lieux' search finds (`lieux_correspondants`: without regard to accents)."""
        lieux, terme = lieux_cherches(search_term)
        if lieux is None:
            return queryset, False
        return queryset.filter(
            Q(record_a__source_id__icontains=terme) | Q(record_b__source_id__icontains=terme)
            | Q(record_a__lieu__in=lieux) | Q(record_b__lieu__in=lieux)
        ), False

    @admin.display(description="enregistrement A")
    def lieu_a(self, obj):
        return _describe(obj.record_a)

    @admin.display(description="enregistrement B")
    def lieu_b(self, obj):
        return _describe(obj.record_b)

    @admin.display(description="score", ordering="score")
    def score_display(self, obj):
        return f"{obj.score:.2f}"

    @admin.display(description="distance", ordering="distance_m")
    def distance_display(self, obj):
        return "—" if obj.distance_m is None else f"{obj.distance_m:.0f} m"

    @admin.action(description="Confirmer : même lieu", permissions=["change"])
    def action_meme_lieu(self, request, queryset):
        count = 0
        for pair in queryset.select_related("record_a", "record_b"):
            dedup.confirm_same(pair, request.user)
            count += 1
        self.message_user(request, f"{count} paire(s) confirmée(s) : les lieux ont été fusionnés.", messages.SUCCESS)

    @admin.action(description="Séparer : lieux différents", permissions=["change"])
    def action_lieux_differents(self, request, queryset):
        count = 0
        for pair in queryset.select_related("record_a", "record_b"):
            dedup.confirm_different(pair, request.user)
            count += 1
        self.message_user(
            request, f"{count} paire(s) marquée(s) comme lieux différents : ils resteront séparés.", messages.SUCCESS
        )


@admin.register(DedupDecision)
class DedupDecisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("source_a", "source_id_a", "source_b", "source_id_b", "decision", "user", "decide_le")
    list_filter = ("decision", "source_a", "source_b")
    search_fields = ("=source_id_a", "=source_id_b")

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("lieux.delete_dedupdecision")
