"""The WSGI module a server loads."""

import subprocess
import sys

from django.conf import settings


def test_workers_load_the_views_when_they_start_not_at_the_first_request():
    code = (
        "import sys, mednum.wsgi; "
        "print(all(m in sys.modules for m in ('mednum.lieux.api', 'mednum.lieux.views', 'mednum.territoires.views_pages')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(settings.BASE_DIR),
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
