from django.core.management.base import BaseCommand, CommandError

from mednum.lieux import export


class Command(BaseCommand):
    help = "Exporte les lieux publiés au format du standard national (CSV, JSON ou GeoJSON)."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=export.FORMATS, default="csv", help="Format du fichier (csv par défaut).")
        parser.add_argument("-o", "--output", required=True, help="Chemin du fichier à écrire.")
        territory = parser.add_mutually_exclusive_group()
        territory.add_argument("--region", default="", help="Code INSEE d'une région.")
        territory.add_argument("--departement", default="", help="Code d'un département.")
        territory.add_argument("--epci", default="", help="Numéro SIREN d'un EPCI (intercommunalité).")
        territory.add_argument("--commune", default="", help="Code INSEE d'une commune.")
        parser.add_argument("--demo", action="store_true", help="Inclure les lieux de démonstration.")

    def handle(self, *args, **options):
        try:
            queryset = export.public_lieux(
                region=options["region"], departement=options["departement"], epci=options["epci"],
                commune=options["commune"],
                demo=options["demo"],
            )
        except export.TerritoryError as error:
            raise CommandError(str(error)) from error
        size = export.write_export(options["format"], options["output"], queryset)
        self.stdout.write(f"Export {options['format'].upper()} écrit dans {options['output']} ({size} octets).")
