"""The staff upload form of /gestion/import/."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.utils.functional import cached_property

from mednum.imports.engine import near_source_message, source_names

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
# Files up to this size are imported during the request; larger ones go through a background task.
SYNC_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".json", ".tsv", ".txt")


def max_upload_bytes() -> int:
    return int(getattr(settings, "MEDNUM_IMPORT_MAX_UPLOAD", DEFAULT_MAX_UPLOAD_BYTES))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} Mo" if size >= 1024 * 1024 else f"{size / 1024:.0f} Ko"


def mapping_choices() -> list[tuple[str, str]]:
    choices = [("", "Aucune : le fichier suit le standard (v1 ou v0.1)")]
    if MAPPINGS_DIR.is_dir():
        for path in sorted(MAPPINGS_DIR.glob("*.json")):
            choices.append((path.stem, path.stem))
    return choices


def mapping_path(name: str) -> Path | None:
    if not name:
        return None
    path = MAPPINGS_DIR / f"{name}.json"
    return path if path.is_file() else None


class ImportForm(forms.Form):
    fichier = forms.FileField(
        label="Fichier à importer",
        help_text="CSV (séparateur virgule, point-virgule ou tabulation) ou JSON (tableau d'objets).",
    )
    source = forms.CharField(
        label="Nom de la source",
        max_length=100,
        help_text="Identifie la source de façon stable : réimporter sous le même nom met à jour ses lieux.",
        # The names already used are suggested (`sources_connues`, a datalist in the page).
        widget=forms.TextInput(attrs={"list": "sources-connues", "autocomplete": "off"}),
    )
    mapping = forms.ChoiceField(
        label="Correspondance des colonnes",
        required=False,
        help_text="Pour un fichier qui n'utilise pas les noms de colonnes du standard.",
    )
    simulation = forms.BooleanField(
        label="Simulation : tout vérifier sans rien enregistrer", required=False
    )
    tout_ou_rien = forms.BooleanField(
        label="Tout ou rien : la moindre ligne rejetée annule l'import", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mapping"].choices = mapping_choices()
        self.fields["fichier"].help_text += f" {_megabytes(max_upload_bytes())} au maximum."

    @cached_property
    def sources_connues(self) -> list[str]:
        return source_names()

    def clean_fichier(self):
        upload = self.cleaned_data["fichier"]
        limit = max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"Le fichier pèse {_megabytes(upload.size)}, au-delà de la limite de {_megabytes(limit)}. "
                "Découpez-le ou importez-le en ligne de commande (manage.py import_lieux)."
            )
        if upload.size == 0:
            raise forms.ValidationError("Le fichier est vide.")
        suffix = Path(upload.name or "").suffix.lower()
        if suffix not in ALLOWED_SUFFIXES:
            raise forms.ValidationError("Le fichier doit être un CSV ou un JSON (extension .csv ou .json).")
        return upload

    def clean_source(self):
        source = self.cleaned_data["source"].strip()
        if not source:
            raise forms.ValidationError("Indiquez le nom de la source.")
        message = near_source_message(source)  # said on the field, before the file is sent to the import
        if message:
            raise forms.ValidationError(message)
        return source
