"""`manage.py load_territoires`: load the territorial reference files into the database (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from mednum.territoires.loader import DATA_DIR, LoadError, load_territoires


class Command(BaseCommand):
    help = (
        "Charge (ou met à jour) régions, départements, EPCI, communes et codes postaux depuis "
        "mednum/territoires/data/ (voir PROVENANCE.md). Sans effet si rien n'a changé."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir", default=str(DATA_DIR), help="dossier des fichiers (par défaut : %(default)s)"
        )

    def handle(self, *args, data_dir, **options):
        try:
            result = load_territoires(data_dir)
        except LoadError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary())
        for name, table in result.tables().items():
            if table.kept:
                shown = ", ".join(table.kept[:10]) + ("…" if len(table.kept) > 10 else "")
                self.stderr.write(f"{len(table.kept)} {name} absent(e)s des fichiers mais encore référencé(e)s, gardé(e)s : {shown}")
