"""mednum settings: one module, every deployment choice read from the environment.

See `.env.example` for the variables. Defaults suit a developer's machine: SQLite under `var/`,
DEBUG on. Production sets `DEBUG=false`, `SECRET_KEY`, `ALLOWED_HOSTS` and usually `DATABASE_URL`.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui", "vrai"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _read_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines from `.env` without overriding the real environment."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


if not env_bool("MEDNUM_IGNORE_DOTENV", False):
    _read_dotenv(BASE_DIR / ".env")

DEBUG = env_bool("DEBUG", True)
# Empty (as `.env.example` has it) means the default, not the current folder.
DATA_DIR = Path(os.environ.get("MEDNUM_DATA_DIR") or BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET = "dev-only-secret-key-not-for-production-use-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY doit être défini quand DEBUG est désactivé.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "widget_tweaks",
    "dsfr",
    "axes",
    "simple_history",
    "django_tasks",
    "mednum.imports.apps.TachesConfig",  # django_tasks_db, named in French
    # Django Ninja as an app: the API documentation page uses its bundled Swagger UI static files
    # (no script or style from another site) and mednum/templates/ninja/swagger.html.
    "ninja",
    "mednum.site",
    "mednum.territoires",
    "mednum.accounts",
    "mednum.standard",
    "mednum.lieux",
    "mednum.imports",
    "mednum.geo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mednum.site.middleware.NulCharacterMiddleware",
    "mednum.site.middleware.ApiHeadAsGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mednum.site.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "mednum.site.middleware.AdminBadRequestMiddleware",
]

ROOT_URLCONF = "mednum.urls"
CSRF_FAILURE_VIEW = "mednum.site.views.csrf_failure"
WSGI_APPLICATION = "mednum.wsgi.application"
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "mednum" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mednum.site.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# SQLite under DATA_DIR by default (WAL, immediate write transactions); PostgreSQL via DATABASE_URL.
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "mednum.sqlite3",
            # One connection per worker thread, kept between requests: opening SQLite and running the
            # PRAGMAs below costs ~3 ms, more than a whole nearest-lieux query (bench/bench_api_throughput.py).
            "CONN_MAX_AGE": int(os.environ.get("MEDNUM_CONN_MAX_AGE", "600")),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    # 8 KB pages for a new database (an existing one keeps its own): a lieu's source record
                    # (~2.3 KB of JSON) fills a 4 KB page with 40 % left empty; in 8 KB pages three fit.
                    # Import of 100,000 rows: 26 % smaller file, ~+7 % rows/s (bench/bench_import.py).
                    "PRAGMA page_size=8192;"
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA temp_store=MEMORY;"
                    "PRAGMA cache_size=-65536;"
                    # Database pages read through a memory map count in a worker's resident memory: 64 MB
                    # keeps a worker serving 1M lieux under 500 MB (bench/bench_memory.py).
                    f"PRAGMA mmap_size={int(os.environ.get('MEDNUM_SQLITE_MMAP_MB', '64')) * 1024 * 1024};"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "mednum",
        "TIMEOUT": 300,
    }
}

# Background work (django-tasks). By default a task runs at once, in the request that asks for it: enough
# for `make run`. In production, MEDNUM_TASKS_BACKEND=django_tasks_db.DatabaseBackend keeps tasks in the
# database and `manage.py db_worker` runs them (large uploaded imports, with their progress page).
TASKS = {"default": {"BACKEND": os.environ.get("MEDNUM_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")}}

# --- Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "mednum.accounts.backends.EmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.5"))  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "mednum.accounts.lockout.axes_username"  # lower-cased e-mail address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_VERBOSE = False

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "mednum <ne-pas-repondre@mednum.localhost>")

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
# French for the third-party screens that ship in English only (background tasks).
LOCALE_PATHS = [BASE_DIR / "mednum" / "locale"]
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic fills it; WhiteNoise expects it to exist
STATICFILES_DIRS = [BASE_DIR / "mednum" / "static"]
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# django-dsfr writes `integrity` checksums of its original files into pages. The production storage
# rewrites the links inside CSS files, so the served files differ and browsers refused the design
# system's CSS. The files come from this site itself: no checksum is needed.
DSFR_USE_INTEGRITY_CHECKSUMS = False
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security (production) ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- mednum ---------------------------------------------------------------------------------------
# The State brand block (Marianne, "République française") is for State sites only.
MEDNUM_STATE_BRAND = env_bool("MEDNUM_STATE_BRAND", True)
MEDNUM_SITE_NAME = os.environ.get("MEDNUM_SITE_NAME", "Médiation numérique")
MEDNUM_SITE_TAGLINE = os.environ.get(
    "MEDNUM_SITE_TAGLINE", "Le réseau national des lieux et des acteurs de la médiation numérique"
)
MEDNUM_OPERATOR = os.environ.get("MEDNUM_OPERATOR", "")
# Where people write about the site (accessibility statement); empty: no address shown.
MEDNUM_CONTACT_EMAIL = os.environ.get("MEDNUM_CONTACT_EMAIL", "")
# Geocoder (BAN / Géoplateforme). Empty = no geocoding: rows without coordinates go to their commune.
MEDNUM_GEOCODER_URL = os.environ.get("MEDNUM_GEOCODER_URL", "")
# Days the import page's reports and uploaded files are kept (`manage.py purge_imports`).
MEDNUM_IMPORT_RETENTION_DAYS = int(os.environ.get("MEDNUM_IMPORT_RETENTION_DAYS", "90"))
# Optional online map style (MapLibre style URL); the offline base layer is always available, and
# replaces it in the browser when it cannot be loaded (mednum/static/lieux/carte.js).
MEDNUM_MAP_STYLE_URL = os.environ.get("MEDNUM_MAP_STYLE_URL", "")
# Content-Security-Policy (mednum.site.csp) only reported by browsers, not enforced: to check a deployment.
MEDNUM_CSP_REPORT_ONLY = env_bool("MEDNUM_CSP_REPORT_ONLY", False)
# PostgreSQL: prepare the search's repeated queries on the server (off behind a pooler in transaction
# mode that cannot keep prepared statements, e.g. PgBouncer before 1.21).
MEDNUM_PG_PREPARED_STATEMENTS = env_bool("MEDNUM_PG_PREPARED_STATEMENTS", True)

LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own configuration gives the "django" logger a console handler of its own (with DEBUG on):
    # with the root's, every message was written twice. Its messages go to the root's handler only.
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}
