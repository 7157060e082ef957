"""Settings for the repair-shop billing back office.

Everything that differs between machines comes from the environment (or an optional
`.env` file). `DJANGO_PRODUCTION=1` switches on the hardened production mode that
`manage.py check --deploy` accepts.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = env_bool("DJANGO_PRODUCTION", False)
DEBUG = env_bool("DEBUG", not PRODUCTION)

_DEV_SECRET = "django-insecure-dev-only-key-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
# The committed key is public, so production treats it (and Django's insecure prefix)
# exactly like a missing key.
if PRODUCTION and (
    len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET or SECRET_KEY.startswith("django-insecure")
):
    raise ImproperlyConfigured(
        "Set SECRET_KEY to 50+ random characters of your own in production mode "
        "(the development key committed in config/settings.py is refused)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Which edition the shop pays for: billing agents and invoicing need advanced or professional.
SHOP_PLAN = os.environ.get("SHOP_PLAN", "professional").strip().lower()
if SHOP_PLAN not in {"essentials", "advanced", "professional"}:
    raise ImproperlyConfigured("SHOP_PLAN must be essentials, advanced or professional.")
SHOP_NAME = os.environ.get("SHOP_NAME", "FixIt Repair Co.")
# Days past due after which a billing agent goes on credit hold (an agent may set its own).
CREDIT_HOLD_DAYS = int(os.environ.get("CREDIT_HOLD_DAYS", "60"))
if not 0 <= CREDIT_HOLD_DAYS <= 365:
    raise ImproperlyConfigured("CREDIT_HOLD_DAYS must be a whole number of days from 0 to 365.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.forms",  # TemplatesSetting (FORM_RENDERER) finds Django's form templates here
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "core",
    "billing_agents",
    "customers",
    "tickets",
    "invoicing",
    "reports",
    "statements",
    "billing_runs",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.PlanGateMiddleware",
    "core.middleware.HtmxMessagesMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.shop",
            ],
            # template_partials' app config wraps the (cached) loaders itself.
            "builtins": ["template_partials.templatetags.partials", "core.templatetags.shop"],
        },
    },
]

# One form-rendering path: Bootstrap field template and widget classes (core.forms).
FORM_RENDERER = "core.forms.ShopFormRenderer"

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiling costs seconds on the aging report's past-day queries and saves nothing
    # on this app's short ones (docs/benchmarks.md, aging).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One connection per thread on SQLite; persistent connections buy nothing there.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions are read from the cache (no session query per request) and written through to
# the database. The cache must be one that every worker shares, or a logout in one gunicorn
# worker would leave the session alive in another's memory: so no LocMemCache. One machine:
# files in CACHE_DIR. Several machines: REDIS_URL (needs the `redis` package installed).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    try:
        import redis  # noqa: F401
    except ImportError as error:
        raise ImproperlyConfigured(
            "REDIS_URL is set but the redis package is not installed."
        ) from error
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("CACHE_DIR", "") or str(BASE_DIR / "var" / "cache"),
            # One file per signed-in session; culling (a third of the files) starts above this.
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", "10000"))},
        }
    }
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# The open-balance index INCLUDEs balance_due on PostgreSQL; SQLite (the demo) just
# builds it without that column, which is harmless.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a locked-out username/address pair before any password check.
# Then Django's ModelBackend, reading a user's permissions in one query (core.access).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "core.access.ShopModelBackend",
]
# Login throttling (docs/decisions.md): 5 failures for one username from one address lock
# that pair for 15 minutes; other users and other addresses are unaffected.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.lockout.locked_out"
# A failure while locked out must not push the end of the cool-off further away.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@repairshop.example")

# Emails go out through django-tasks: queued in the project's own database and sent by
# `python manage.py db_worker` (one or more, on any machine that reaches the database).
# TASK_BACKEND=immediate sends inside the request instead (the tests use it).
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if os.environ.get("TASK_BACKEND") == "immediate"
        else "django_tasks_db.DatabaseBackend"
    }
}
# Seconds before each retry of an email the mail server refused; then it is marked failed.
EMAIL_RETRY_DELAYS = [60, 300, 1800, 7200]

# Overdue reminders (`manage.py send_reminders`, daily): level n goes out once an invoice is
# `days` past due; only the highest level reached is sent, and each level once per invoice.
REMINDER_LEVELS = [
    {
        "days": 7,
        "subject": "Reminder: invoice {number} is past due",
        "message": "Our records show invoice {number} is now past due. If you have already "
        "sent payment, thank you; otherwise please arrange payment of the balance below.",
    },
    {
        "days": 30,
        "subject": "Second reminder: invoice {number} is 30 days past due",
        "message": "Invoice {number} is now 30 days past due. Please send payment of the "
        "balance below, or contact us if there is a problem with the invoice.",
    },
    {
        "days": 60,
        "subject": "Final notice: invoice {number} is 60 days past due",
        "message": "Invoice {number} is now 60 days past due and your account may be placed "
        "on credit hold. Please pay the balance below at once or call us to discuss it.",
    },
]

# Content-Security-Policy: only the shop's own files run; no inline script or style, no
# eval (htmx is configured for that in base.html), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Bootstrap draws its select arrows and check marks as data: SVGs.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    }
}

MESSAGE_TAGS = {40: "danger"}  # Bootstrap names Django's "error" level "danger".

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
