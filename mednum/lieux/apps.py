from django.apps import AppConfig


class LieuxConfig(AppConfig):
    name = "mednum.lieux"
    label = "lieux"
    verbose_name = "Lieux"

    def ready(self):
        # Before any database connection opens: the search numbers each connection (its JSON cache).
        from . import search  # noqa: F401
