from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _repair_spatial_index(sender, using="default", **kwargs):
    from .spatial_index import ensure_sqlite_index

    ensure_sqlite_index(using)


class GeoConfig(AppConfig):
    name = "mednum.geo"
    label = "geo"
    verbose_name = "Géographie"

    def ready(self):
        # After every `migrate`: Django may have rebuilt `lieux_lieu` on SQLite (dropping the R*Tree
        # triggers with the old table); put them back. `geo` has no models, so listen to `lieux`.
        post_migrate.connect(
            _repair_spatial_index, sender=apps.get_app_config("lieux"), dispatch_uid="mednum.geo.rtree"
        )
