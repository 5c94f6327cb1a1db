from django.apps import AppConfig


class TerritoiresConfig(AppConfig):
    name = "mednum.territoires"
    label = "territoires"
    verbose_name = "Territoires"

    def ready(self):
        from django.db.backends.signals import connection_created

        from mednum.territoires.text import enregistrer_fonction_sqlite

        connection_created.connect(enregistrer_fonction_sqlite, dispatch_uid="mednum_cle_texte")
