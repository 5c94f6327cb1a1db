from django.core.management.base import BaseCommand, CommandError

from mednum.lieux import dedup


class Command(BaseCommand):
    help = (
        "Cherche les lieux décrits par plusieurs enregistrements, fusionne les doublons certains et met "
        "les cas douteux dans la file « doublons possibles » de l'administration."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Calculer sans rien enregistrer.")
        parser.add_argument("--threshold-auto", type=float, default=dedup.THRESHOLD_AUTO,
                            help=f"Score à partir duquel deux lieux sont fusionnés (défaut {dedup.THRESHOLD_AUTO}).")
        parser.add_argument("--threshold-review", type=float, default=dedup.THRESHOLD_REVIEW,
                            help=f"Score à partir duquel une paire est à examiner (défaut {dedup.THRESHOLD_REVIEW}).")

    def handle(self, *args, **options):
        auto, review = options["threshold_auto"], options["threshold_review"]
        if not 0 <= review <= auto <= 1:
            raise CommandError("Il faut 0 ≤ --threshold-review ≤ --threshold-auto ≤ 1.")
        log = (lambda message: self.stdout.write(message)) if options["verbosity"] > 1 else None
        result = dedup.run_dedup(threshold_auto=auto, threshold_review=review, dry_run=options["dry_run"], log=log)
        self.stdout.write(result.summary())
