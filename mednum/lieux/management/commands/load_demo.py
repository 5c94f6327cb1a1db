from django.core.management.base import BaseCommand

from mednum.lieux import demo


class Command(BaseCommand):
    help = (
        "Charge les données de démonstration : lieux réels de Hinaura et de la Gironde, lieux fictifs "
        "ailleurs en France (marqués « démonstration »), puis dédoublonne. Ne refait rien si c'est déjà fait."
    )

    def add_arguments(self, parser):
        parser.add_argument("--synthetic", type=int, default=demo.DEMO_SYNTHETIC,
                            help=f"Nombre de lieux fictifs à générer (défaut {demo.DEMO_SYNTHETIC}).")
        parser.add_argument("--seed", type=int, default=demo.DEMO_SEED, help="Graine du générateur.")
        parser.add_argument("--force", action="store_true", help="Recharger même si rien n'a changé.")

    def handle(self, *args, **options):
        demo.load_demo(synthetic=options["synthetic"], seed=options["seed"], force=options["force"],
                       log=lambda message: self.stdout.write(message))
