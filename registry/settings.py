"""Settings, read from the environment (see the README's configuration table).

Defaults are production-safe: DEBUG off and no default secret. ``make run`` sets a
development environment (``DEBUG=1`` and a throwaway secret) so it works over plain http on
loopback.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. `make run` and `make test` set a development one; "
        "production must set its own (50+ random characters)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")

REGISTRY_DATA_DIR = Path(os.environ.get("REGISTRY_DATA_DIR", BASE_DIR / ".data")).resolve()
REGISTRY_BASE_URL = os.environ.get("REGISTRY_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
REGISTRY_SIGNING_KEYS = Path(
    os.environ.get("REGISTRY_SIGNING_KEYS", REGISTRY_DATA_DIR / "signing-keys")
).resolve()
REGISTRY_INTAKE_VALID_DAYS = int(os.environ.get("REGISTRY_INTAKE_VALID_DAYS", "7"))
# Warnings: a credential ending within this many days after the session ends.
REGISTRY_EXPIRY_WARNING_DAYS = 30

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",
    "core",
    "protocols",
    "credentials",
    "registry",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # One transaction per request, started with the caller's row-level security scope.
    "registry.middleware.RowLevelSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "registry.urls"
WSGI_APPLICATION = "registry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_config() -> dict:
    """``DATABASE_URL`` when set; otherwise the embedded PostgreSQL (started on first use)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        import dj_database_url

        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        if "postgres" not in config["ENGINE"]:
            raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL.")
        config["ENGINE"] = "registry.db_backend"
    else:
        from registry.embedded_postgres import DATABASE_NAME, OWNER_ROLE

        config = {
            "ENGINE": "registry.embedded_postgres",
            "NAME": DATABASE_NAME,
            "USER": OWNER_ROLE,
            "HOST": "",  # the socket directory, filled in when the server is started
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    # Row-level security (docs/row-level-security.md): the connection logs in as the tables'
    # owner and runs as the app role, which owns nothing (``SET ROLE``, once per connection);
    # only migrations run as the owner. Empty: the login role is the app role itself (then
    # ``migrate`` runs with the owner's DATABASE_URL).
    app_role = os.environ.get("REGISTRY_DB_APP_ROLE", "registry_app")
    if app_role:
        config.setdefault("OPTIONS", {})["assume_role"] = app_role
    return config


DATABASES = {"default": database_config()}
if env_bool("REGISTRY_PREPARED_STATEMENTS", True):
    # Only ``core.db.prepared_cursor`` prepares (Django's own cursors bind on the client and
    # never do): the eligibility selectors' statements are parsed and planned once per
    # connection. Off behind a transaction-pooling PgBouncer older than 1.21.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
if os.environ.get("REGISTRY_DB_NAME"):
    # A worker started by the integration tests joins the test database.
    DATABASES["default"]["NAME"] = os.environ["REGISTRY_DB_NAME"]
if os.environ.get("REGISTRY_TEST_DB_NAME"):
    # Lets several test runs share one server without sharing a test database.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["REGISTRY_TEST_DB_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = REGISTRY_DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files from the app process (no separate web server needed); with
# DEBUG off run `manage.py collectstatic` at deploy time.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if not DEBUG:  # in development runserver serves static files itself
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
# A file missing from the manifest (collectstatic not run yet) is served under its plain name
# rather than failing the page.
WHITENOISE_MANIFEST_STRICT = False
LOGIN_URL = "/login/"

# --- security (production-safe unless DEBUG) ---
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A strict content security policy: nothing inline, nothing from another origin (the
# Swagger UI is served by drf-spectacular's split view from the sidecar, so it needs no
# inline script either).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("REGISTRY_MAX_BODY_BYTES", 1024 * 1024))

# --- REST framework ---
REGISTRY_THROTTLE_RATES_SETTING = os.environ.get("REGISTRY_THROTTLE_RATES", "")
THROTTLING_ENABLED = REGISTRY_THROTTLE_RATES_SETTING.strip().lower() != "off"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.RegistryAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.problem_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.TextJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon-read": os.environ.get("REGISTRY_THROTTLE_ANON", "120/min"),
        "login": os.environ.get("REGISTRY_THROTTLE_LOGIN", "10/min"),
        "token-rotate": os.environ.get("REGISTRY_THROTTLE_TOKEN", "10/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Therapist credential and protocol-scope registry",
    "DESCRIPTION": (
        "Which protocols each therapist is certified in, by which school, taught by which "
        "instructor; and the booking gate that refuses a case the therapist is not trained for."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery ---
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_BEAT_SCHEDULE: dict = {
    "sweep-outbox": {"task": "registry.sweep_outbox", "schedule": 30.0},
    "expiry-reminders": {"task": "registry.send_expiry_reminders", "schedule": crontab(hour=6, minute=0)},
}
REGISTRY_DELIVERY_BACKOFF_BASE = float(os.environ.get("REGISTRY_DELIVERY_BACKOFF_BASE", "10"))
REGISTRY_DELIVERY_BACKOFF_CAP = float(os.environ.get("REGISTRY_DELIVERY_BACKOFF_CAP", "3600"))
REGISTRY_WEBHOOK_TIMEOUT = 10

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "registry@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
