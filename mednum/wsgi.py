"""WSGI entry point (gunicorn `mednum.wsgi:application`)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mednum.settings")
application = get_wsgi_application()
# Import every view and the API now, while the worker starts, rather than during its first request
# (~0.6 s). No database access here: a worker may start before its database is reachable.
get_resolver().url_patterns
