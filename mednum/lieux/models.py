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

from django.db import models

from mednum.standard import schema

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
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
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
    commune = models.ForeignKey(
        "territoires.Commune", on_delete=models.SET_NULL, null=True, blank=True, related_name="lieux"
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
    fusionne_dans = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="fusionnes",
        help_text="Lieu qui regroupe désormais les sources de celui-ci (doublon fusionné).",
    )
    cree_le = models.DateTimeField(auto_now_add=True)
    modifie_le = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "lieu"
        indexes = [
            models.Index(fields=["code_insee"], name="lieu_code_insee_idx"),
            models.Index(fields=["code_postal"], name="lieu_code_postal_idx"),
            models.Index(fields=["pivot"], name="lieu_pivot_idx"),
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
