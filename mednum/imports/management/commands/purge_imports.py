"""`manage.py purge_imports [--jours N] [--dry-run]`: remove the import page's old files (see
`mednum.imports.conservation`); to run once a day."""

from django.core.management.base import BaseCommand, CommandError

from mednum.imports import conservation

LIBELLES = {
    "rapports": "rapports d'import",
    "fichiers": "fichiers téléversés jamais importés",
    "progression": "fichiers d'avancement d'imports interrompus",
}


class Command(BaseCommand):
    help = "Efface les rapports d'import et les fichiers téléversés plus anciens que la durée de conservation."

    def add_arguments(self, parser):
        parser.add_argument("--jours", type=int, default=None,
                            help="durée de conservation en jours (réglage MEDNUM_IMPORT_RETENTION_DAYS, "
                                 "90 par défaut)")
        parser.add_argument("--dry-run", action="store_true", help="dire ce qui serait effacé, sans rien effacer")

    def handle(self, *args, jours=None, dry_run=False, **options):
        if jours is not None and jours < 1:
            raise CommandError("--jours : au moins 1 jour.")
        jours = conservation.retention_days() if jours is None else jours
        if dry_run:
            counts = {nom: len(paths) for nom, paths in conservation.expires(jours).items()}
            verbe = "seraient effacés"
        else:
            counts = conservation.purger(jours)
            verbe = "effacés"
        for nom, count in counts.items():
            self.stdout.write(f"{LIBELLES[nom]} {verbe} : {count}")
        self.stdout.write(f"Conservation : {jours} jours (avancement d'imports interrompus : "
                          f"{conservation.PROGRESSION_DAYS} jour).")
