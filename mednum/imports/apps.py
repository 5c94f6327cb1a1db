from django.apps import AppConfig
from django_tasks_db import apps as tasks_db_apps


class ImportsConfig(AppConfig):
    name = "mednum.imports"
    label = "imports"
    verbose_name = "Imports"


class TachesConfig(tasks_db_apps.TasksAppConfig):
    """django-tasks-db (the imports' background tasks, `manage.py db_worker`), named in French in the
    administration; its fields and states are translated in mednum/locale."""

    default = False  # named in INSTALLED_APPS; ImportsConfig stays this package's own
    verbose_name = "Tâches en arrière-plan"
