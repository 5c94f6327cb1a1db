from django.core.management.base import BaseCommand, CommandError

from mednum.geo import spatial_index


class Command(BaseCommand):
    help = "Reconstruit l'index spatial des lieux (R*Tree sous SQLite, index GiST sous PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="Alias de la base (défaut : default).")
        parser.add_argument("--verifier", action="store_true", help="Vérifie seulement, sans reconstruire.")

    def handle(self, *args, database, verifier, **options):
        if not verifier:
            try:
                count = spatial_index.rebuild(database)
            except spatial_index.SpatialIndexUnavailable as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Index spatial reconstruit : {count} lieux indexés.")
        state = spatial_index.check(database)
        self.stdout.write(
            f"Lieux indexables : {state['eligible']} ; indexés : {state['indexed']} ; incohérents : {state['stale']}."
        )
        if state["eligible"] != state["indexed"] or state["stale"]:
            raise CommandError("L'index spatial ne correspond pas à la table : relancez sans --verifier.")
