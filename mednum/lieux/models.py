"""Lieux de médiation numérique.

A `Lieu` is the public, merged view of one place: it holds every field of the national standard
v1.0.2 (multi-valued fields as `|`-joined text, exactly as the standard writes them) plus an integer
bit mask per enumerated field so that filters stay index-friendly at a million rows.

A `SourceRecord` is what one source said about one place (source name + its id, the raw record, the
record normalised to the standard, import date). Imports upsert source records; each source record
belongs to exactly one lieu. When deduplication finds that records from several sources describe the
same place, they are attached to one lieu whose fields are merged from them; the emptied lieu is kept
as a redirect (`fusionne_dans`), nothing is deleted.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Substr

from mednum.standard import schema
from mednum.territoires.text import Motif

# Characters of `horaires` held by the index lieu_horaires_idx (see Lieu.Meta.indexes).
HORAIRES_INDEX_CHARS = 250


class PrefixeHoraires(models.Func):
    """The indexed start of `horaires`, written as the hours indexes are (`Substr` sends its bounds as
    query parameters, which SQLite does not match with an index on an expression)."""

    function = "SUBSTRING"
    template = f"%(function)s(%(expressions)s, 1, {HORAIRES_INDEX_CHARS})"
    output_field = models.TextField()

    def __init__(self, **extra):
        super().__init__(F("horaires"), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="SUBSTR", **extra_context)


class HorairesRenseignes(models.Func):
    """`horaires` is not empty, written as the hours indexes' condition is: with the empty string sent as
    a query parameter (`exclude(horaires="")`), SQLite checks it on each row of the table instead of
    reading the index alone (3.2 s instead of 0.12 s at a million lieux)."""

    template = "NOT (%(expressions)s = '')"
    output_field = models.BooleanField()
    conditional = True

    def __init__(self, **extra):
        super().__init__(F("horaires"), **extra)


# Standard field → bit-mask column, for every enumerated multi-valued field.
MASK_COLUMNS = {
    "services": "services_mask",
    "publics_specifiquement_adresses": "publics_mask",
    "prise_en_charge_specifique": "prise_en_charge_mask",
    "frais_a_charge": "frais_mask",
    "dispositif_programmes_nationaux": "dispositifs_mask",
    "formations_labels": "formations_mask",
    "modalites_acces": "modalites_acces_mask",
    "modalites_accompagnement": "modalites_accompagnement_mask",
    "itinerance": "itinerance_mask",
}


class PositionPrecision(models.TextChoices):
    SOURCE = "source", "Position donnée par la source"
    ADRESSE = "adresse", "Position approximative (géocodée depuis l'adresse)"
    COMMUNE = "commune", "Position approximative (centre de la commune)"
    AUCUNE = "", "Position inconnue"


class Lieu(models.Model):
    # --- the 32 fields of the standard (names as in the standard) ---
    id_standard = models.CharField("identifiant (standard « id »)", max_length=255, unique=True)
    pivot = models.CharField("SIRET ou RNA", max_length=14, blank=True, default="")
    nom = models.CharField(max_length=500)
    commune_nom = models.CharField("commune (telle que publiée)", max_length=200)
    code_postal = models.CharField(max_length=5)
    code_insee = models.CharField(max_length=5, blank=True, default="")
    adresse = models.CharField(max_length=500)
    complement_adresse = models.CharField(max_length=500, blank=True, default="")
    latitude = models.FloatField(
        null=True, blank=True,
        validators=[MinValueValidator(-90, "La latitude est comprise entre -90 et 90."),
                    MaxValueValidator(90, "La latitude est comprise entre -90 et 90.")],
    )
    longitude = models.FloatField(
        null=True, blank=True,
        validators=[MinValueValidator(-180, "La longitude est comprise entre -180 et 180."),
                    MaxValueValidator(180, "La longitude est comprise entre -180 et 180.")],
    )
    typologie = models.CharField(max_length=500, blank=True, default="")
    telephone = models.CharField(max_length=20, blank=True, default="")
    courriels = models.TextField(blank=True, default="")
    site_web = models.TextField(blank=True, default="")
    horaires = models.TextField(blank=True, default="")
    presentation_resume = models.CharField(max_length=280, blank=True, default="")
    presentation_detail = models.TextField(blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="")
    itinerance = models.CharField(max_length=50, blank=True, default="")
    structure_parente = models.CharField(max_length=500, blank=True, default="")
    date_maj = models.DateField("date de mise à jour")
    services = models.TextField(blank=True, default="")
    publics_specifiquement_adresses = models.TextField(blank=True, default="")
    prise_en_charge_specifique = models.TextField(blank=True, default="")
    frais_a_charge = models.TextField(blank=True, default="")
    dispositif_programmes_nationaux = models.TextField(blank=True, default="")
    formations_labels = models.TextField(blank=True, default="")
    autres_formations_labels = models.TextField(blank=True, default="")
    modalites_acces = models.TextField(blank=True, default="")
    modalites_accompagnement = models.TextField(blank=True, default="")
    fiche_acces_libre = models.CharField(max_length=500, blank=True, default="")
    prise_rdv = models.CharField(max_length=500, blank=True, default="")

    # --- derived, for search and display ---
    slug = models.SlugField(max_length=120, db_index=True)
    # Indexed with the name (Meta.indexes): a territory's list reads a commune's lieux in name order.
    commune = models.ForeignKey(
        "territoires.Commune", on_delete=models.SET_NULL, null=True, blank=True, related_name="lieux",
        db_index=False,
    )
    position_precision = models.CharField(
        max_length=10, choices=PositionPrecision.choices, blank=True, default=PositionPrecision.SOURCE
    )
    services_mask = models.BigIntegerField(default=0)
    publics_mask = models.BigIntegerField(default=0)
    prise_en_charge_mask = models.BigIntegerField(default=0)
    frais_mask = models.BigIntegerField(default=0)
    dispositifs_mask = models.BigIntegerField(default=0)
    formations_mask = models.BigIntegerField(default=0)
    modalites_acces_mask = models.BigIntegerField(default=0)
    modalites_accompagnement_mask = models.BigIntegerField(default=0)
    itinerance_mask = models.BigIntegerField(default=0)
    est_demo = models.BooleanField("donnée de démonstration", default=False)
    # Indexed only where set (Meta.indexes): published lieux have none, and a plain index on a column that
    # is NULL for 98 % of rows misleads SQLite's planner (its statistics count each NULL as a distinct
    # value), which then reads every lieu through it for `fusionne_dans IS NULL`.
    fusionne_dans = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="fusionnes", db_index=False,
        help_text="Lieu qui regroupe désormais les sources de celui-ci (doublon fusionné).",
    )
    cree_le = models.DateTimeField(auto_now_add=True)
    modifie_le = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "lieu"
        verbose_name_plural = "lieux"
        constraints = [
            # A position off the globe (1e308) is refused by every path, not only by forms: on PostgreSQL,
            # one such point overflows the GiST index's boxes, and other lieux could no longer be written.
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90))
                & (models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180)),
                name="lieu_position_sur_le_globe",
                violation_error_message="La position doit être une latitude entre -90 et 90 et une longitude "
                                        "entre -180 et 180.",
            ),
        ]
        indexes = [
            # Every index costs each import's inserts (~8 µs a row, bench/bench_import.py): the lieux are
            # looked up by INSEE code only when no commune could be linked (a commune's page, its export).
            # No index on postcode or SIRET: searches go through communes, deduplication groups in memory.
            models.Index(fields=["code_insee"], name="lieu_sans_commune_insee_idx",
                         condition=models.Q(commune__isnull=True)),
            models.Index(fields=["fusionne_dans"], name="lieu_fusionne_dans_idx",
                         condition=models.Q(fusionne_dans__isnull=False)),
            models.Index(fields=["commune", "nom", "id"], name="lieu_commune_nom_idx"),
            # The lieux on the map (published, placed) by commune, with every filter's mask: the map's
            # counts per région and département read this index alone, with or without filters (at 1M
            # lieux, with a service filter: 4.2 s reading the table, 0.22–0.29 s reading this index).
            models.Index(
                fields=["commune", "code_insee", *MASK_COLUMNS.values()], name="lieu_carte_commune_idx",
                condition=models.Q(fusionne_dans__isnull=True, latitude__isnull=False, longitude__isnull=False),
            ),
            # The lieux on the map by opening hours (their first HORAIRES_INDEX_CHARS characters: a B-tree
            # entry has a size limit on PostgreSQL; OpenStreetMap's own values stop at 255), then INSEE
            # code (overseas lieux, in their own time zones, are codes from 97 on). When few lieux in France
            # can be open now (at night, on Sundays), « ouvert maintenant » reads only those (lieux.search)
            # instead of every lieu of the radius.
            models.Index(
                Substr("horaires", 1, HORAIRES_INDEX_CHARS), F("code_insee"), name="lieu_horaires_idx",
                condition=models.Q(fusionne_dans__isnull=True, latitude__isnull=False, longitude__isnull=False)
                & ~models.Q(horaires=""),
            ),
            # The same for the published lieux without a position (few): with lieu_horaires_idx, the
            # moderators' list of unreadable hours reads indexes only (lieux.hours.horaires_invalides).
            models.Index(
                Substr("horaires", 1, HORAIRES_INDEX_CHARS), name="lieu_horaires_hors_carte_idx",
                condition=models.Q(fusionne_dans__isnull=True)
                & (models.Q(latitude__isnull=True) | models.Q(longitude__isnull=True))
                & ~models.Q(horaires=""),
            ),
        ]

    def __str__(self):
        return f"{self.nom} ({self.commune_nom})"

    def list_values(self, field: str) -> list[str]:
        return schema.split(getattr(self, field))

    def set_masks(self) -> None:
        for field, column in MASK_COLUMNS.items():
            setattr(self, column, schema.mask_of(field, schema.split(getattr(self, field))))

    def territoire_codes(self) -> dict[str, str]:
        """Territory codes of this lieu, for the permission helper (accounts.permissions)."""
        commune = self.commune
        if commune is None:
            return {"commune": self.code_insee} if self.code_insee else {}
        return {
            "commune": commune.code,
            "departement": commune.departement_id,
            "region": commune.region_id,
            "epci": commune.epci_id or "",
        }


# `nom__motif`: the administration's first sift of names (LIKE with the pattern as given), on this field only.
Lieu._meta.get_field("nom").register_lookup(Motif)


class SourceRecord(models.Model):
    """One source's record of one place, kept whole: nothing a source said is ever lost."""

    source = models.CharField("source", max_length=100)
    source_id = models.CharField("identifiant dans la source", max_length=255)
    lieu = models.ForeignKey(Lieu, on_delete=models.CASCADE, related_name="source_records")
    raw = models.JSONField("enregistrement brut")
    normalised = models.JSONField("enregistrement au standard")
    content_hash = models.CharField(max_length=32)
    date_maj = models.DateField(null=True, blank=True)
    imported_at = models.DateTimeField("importé le")
    updated_at = models.DateTimeField("modifié le")

    class Meta:
        verbose_name = "enregistrement source"
        verbose_name_plural = "enregistrements sources"
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="unique_source_record")]

    def __str__(self):
        return f"{self.source}:{self.source_id}"


def _record_key(source: str, source_id: str) -> tuple[str, str]:
    return (str(source), str(source_id))


class DedupPair(models.Model):
    """A pair of source records that deduplication found alike: the review queue and its history.

    A pair names one record of each of the two lieux compared (their main record); what a reviewer
    decides is stored as a `DedupDecision`, keyed by the records' source identities.
    """

    class Status(models.TextChoices):
        A_EXAMINER = "a_examiner", "À examiner"
        FUSION_AUTO = "fusion_auto", "Fusionnés automatiquement"
        MEME_LIEU = "meme_lieu", "Confirmé : même lieu"
        DIFFERENTS = "differents", "Confirmé : lieux différents"

    record_a = models.ForeignKey(
        SourceRecord, on_delete=models.CASCADE, related_name="+", verbose_name="enregistrement A"
    )
    record_b = models.ForeignKey(
        SourceRecord, on_delete=models.CASCADE, related_name="+", verbose_name="enregistrement B"
    )
    score = models.FloatField("score de ressemblance")
    details = models.JSONField("détail du score", default=dict, blank=True)
    distance_m = models.FloatField("distance (m)", null=True, blank=True)
    status = models.CharField(
        "statut", max_length=12, choices=Status.choices, default=Status.A_EXAMINER, db_index=True
    )
    cree_le = models.DateTimeField("créée le", auto_now_add=True)
    modifie_le = models.DateTimeField("modifiée le", auto_now=True)

    class Meta:
        verbose_name = "doublon possible"
        verbose_name_plural = "doublons possibles"
        ordering = ["-score"]
        constraints = [models.UniqueConstraint(fields=["record_a", "record_b"], name="unique_dedup_pair")]

    def __str__(self):
        return f"{self.record_a} ↔ {self.record_b} ({self.score:.2f})"


class DedupDecision(models.Model):
    """A reviewer's word on two source records: same place or not. Always wins over scores.

    Keyed by the records' (source, source_id), stored in canonical order (A ≤ B), never by a lieu's
    primary key: it survives merges, separations and re-imports.
    """

    class Decision(models.TextChoices):
        MEME_LIEU = "meme_lieu", "Même lieu"
        DIFFERENTS = "differents", "Lieux différents"

    source_a = models.CharField("source A", max_length=100)
    source_id_a = models.CharField("identifiant A", max_length=255)
    source_b = models.CharField("source B", max_length=100)
    source_id_b = models.CharField("identifiant B", max_length=255)
    decision = models.CharField("décision", max_length=12, choices=Decision.choices)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="décidé par",
    )
    decide_le = models.DateTimeField("décidé le", auto_now=True)

    class Meta:
        verbose_name = "décision sur un doublon"
        verbose_name_plural = "décisions sur les doublons"
        constraints = [
            models.UniqueConstraint(
                fields=["source_a", "source_id_a", "source_b", "source_id_b"], name="unique_dedup_decision"
            )
        ]

    def __str__(self):
        return f"{self.source_a}:{self.source_id_a} / {self.source_b}:{self.source_id_b} — {self.get_decision_display()}"

    @staticmethod
    def canonical(key_a: tuple[str, str], key_b: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
        key_a, key_b = _record_key(*key_a), _record_key(*key_b)
        return (key_a, key_b) if key_a <= key_b else (key_b, key_a)

    @classmethod
    def record(cls, key_a, key_b, decision: str, user=None) -> "DedupDecision":
        """Store (or replace) the decision on two records given as (source, source_id)."""
        (sa, ia), (sb, ib) = cls.canonical(key_a, key_b)
        obj, _ = cls.objects.update_or_create(
            source_a=sa, source_id_a=ia, source_b=sb, source_id_b=ib,
            defaults={"decision": decision, "user": user},
        )
        return obj
