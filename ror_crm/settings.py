"""RoR CRM settings: one file, everything from the environment.

Defaults serve the embedded demo (SQLite, Celery eager, local-memory cache).
See the configuration table in README.md.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from ror_crm.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off. "
            "Set it to a long random string (or set DJANGO_DEBUG=1 for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-only"
elif SECRET_KEY.startswith("django-insecure") and not DEBUG:
    # Such keys are published (Django's startproject, old compose defaults): anyone could sign sessions.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is a known insecure placeholder. Set it to a long random string, e.g. "
        "python -c \"import secrets; print(secrets.token_urlsafe(64))\"."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "simple_history",
    "axes",
    "csp",
    "contacts",
    "events",
    "scoring",
    "partners",
]

MIDDLEWARE = [
    "ror_crm.middleware.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "partners.middleware.APIErrorMiddleware",
    "ror_crm.middleware.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ror_crm.middleware.QueueDownAdminMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "partners.middleware.IdempotencyMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ror_crm.urls"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "ror_crm.wsgi.application"

# Database: DATABASE_URL, default a SQLite file in the project directory.
# postgres://… uses Django's PostgreSQL backend (psycopg 3), with compiled timestamp parsing (below).
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    # Health checks: a kept connection that died with a database restart is replaced before
    # the request uses it, instead of failing that request.
    DATABASES = {"default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True,
    )}
except ValueError as exc:  # unknown scheme or malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and not DATABASES["default"]["NAME"]:
    raise ImproperlyConfigured("DATABASE_URL names no database (expected e.g. postgres://user:password@host:5432/ror_crm).")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with psycopg's compiled timestamp loader (ror_crm/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "ror_crm.postgresql"
    # A server that accepts and never answers (hung, partitioned) is a 503 after this, not a
    # request that hangs until the web server kills it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web workers and eager tasks share the file: wait for the lock instead of failing. Write
    # transactions take it when they begin (IMMEDIATE), so none fails on upgrading a read
    # lock ("database is locked"), and WAL lets readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a login while its user is locked out at that address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin logins: after AXES_FAILURE_LIMIT wrong passwords for a user from one address, that
# user is locked out at that address for AXES_COOLOFF_MINUTES (others and other addresses are not).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "ror_crm.security.login_locked_response"
AXES_CLIENT_IP_CALLABLE = "ror_crm.security.client_address"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates without the US forms (ror_crm/formats/en); German uses Django's own formats.
FORMAT_MODULE_PATH = ["ror_crm.formats"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]  # project-level assets (admin panel styles)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "ror_crm.storage.ManifestStaticFilesStorage"
    },
}
# Before `collectstatic` has run, WhiteNoise serves the files from where they live.
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "staticfiles.json").exists()

# Redis: with REDIS_URL, Celery uses it as broker and result backend and the cache lives
# there (shared by every web process, so throttling counts per key across workers).
# Without it, tasks run eagerly in-process (services enqueue them after commit) and the
# cache is local memory.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Short socket timeouts: with Redis gone a cache call fails in a moment, not a minute.
    CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# As with a worker, a failing task is logged and never breaks the request that queued it.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
# With Redis down, sending a task fails within about two seconds (not ~19 s of retries): the
# request goes on, the work waits in its outbox row for the sweeper (scoring.outbox).
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
# Short enough that a hung Redis (accepting, never answering) costs a request seconds, not its
# life; ror_crm.queue.redis_breaker then skips Redis for a moment.
CELERY_REDIS_SOCKET_TIMEOUT = 2
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}}
# A task taken by a worker that dies unacknowledged (acks_late) goes back to the queue after
# the visibility timeout: just above the time limit, so a running task is never handed out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 60),
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker waits out a Redis outage of any length (Celery's default gives up after 100 retries,
# about a quarter of an hour, and the worker exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BEAT_SCHEDULER = "ror_crm.beat:DatabaseScheduler"
# The local time of the nightly recompute (scoring.services.nightly.missed_tonight() reads it too).
NIGHTLY_RECOMPUTE_AT = (3, 15)
# Static schedule, copied into django-celery-beat's tables by the DatabaseScheduler.
CELERY_BEAT_SCHEDULE: dict = {
    "webhooks-followup-overdue": {"task": "partners.emit_overdue_followups", "schedule": crontab(minute=0)},
    "purge-idempotency-records": {"task": "partners.purge_idempotency_records", "schedule": crontab(hour=4, minute=30)},
    # Decay moves every score without new data (DOMAIN.md): recompute all contacts nightly.
    "nightly-score-recompute": {"task": "scoring.nightly_recompute",
                                "schedule": crontab(hour=NIGHTLY_RECOMPUTE_AT[0], minute=NIGHTLY_RECOMPUTE_AT[1])},
    # Beat moves on when it cannot send (Redis down at 03:15): the next three hours look whether the
    # night's run happened and send it if not (scoring.services.nightly.missed_tonight()).
    "nightly-score-recompute-catch-up": {
        "task": "scoring.nightly_recompute", "kwargs": {"only_if_missed": True},
        "schedule": crontab(hour=f"{NIGHTLY_RECOMPUTE_AT[0] + 1}-{NIGHTLY_RECOMPUTE_AT[0] + 3}", minute=NIGHTLY_RECOMPUTE_AT[1]),
    },
}
# The scoring outbox (scoring.outbox): rows of work asked for and not done are sent again.
# A row unsent for SCORING_OUTBOX_GRACE_SECONDS (Redis was down at commit), or sent and still
# not done after SCORING_OUTBOX_RESEND_SECONDS (its message was lost), is sent by the sweep.
SCORING_OUTBOX_SWEEP_SECONDS = env_int("SCORING_OUTBOX_SWEEP_SECONDS", 60)
SCORING_OUTBOX_GRACE_SECONDS = env_int("SCORING_OUTBOX_GRACE_SECONDS", 30)
SCORING_OUTBOX_RESEND_SECONDS = env_int("SCORING_OUTBOX_RESEND_SECONDS", 2 * CELERY_TASK_TIME_LIMIT)
# A request whose work keeps failing is left after this many sends (logged; scoring_outbox shows it).
SCORING_OUTBOX_MAX_SENDS = env_int("SCORING_OUTBOX_MAX_SENDS", 10)
CELERY_BEAT_SCHEDULE["scoring-outbox-sweep"] = {
    "task": "scoring.sweep_outbox", "schedule": float(SCORING_OUTBOX_SWEEP_SECONDS),
}
# Webhook deliveries recorded while the broker was down are queued by this sweep.
CELERY_BEAT_SCHEDULE["webhooks-send-unsent"] = {
    "task": "partners.send_unsent_deliveries", "schedule": float(SCORING_OUTBOX_SWEEP_SECONDS),
}
# Health: /health/ finds the worker down when its heartbeat is older than this.
HEALTH_WORKER_MAX_AGE_SECONDS = env_int("HEALTH_WORKER_MAX_AGE_SECONDS", 180)

# Scoring: contacts per chunk (one task, a fixed number of queries each) and how long late
# data for a completed event waits to be recomputed together.
SCORING_CHUNK_SIZE = env_int("SCORING_CHUNK_SIZE", 5000)
# The relationship lift's interval needs this many distinct controls (scoring.services.matched_lift).
LIFT_MIN_DISTINCT_CONTROLS = env_int("LIFT_MIN_DISTINCT_CONTROLS", 10)
# The nightly run's arithmetic UPDATE (scoring.services.nightly): contacts per statement and task.
SCORING_NIGHTLY_RANGE_SIZE = env_int("SCORING_NIGHTLY_RANGE_SIZE", 50_000)
SCORING_LATE_DATA_DEBOUNCE_SECONDS = env_int("SCORING_LATE_DATA_DEBOUNCE_SECONDS", 30)
# Customer lifetime value (scoring.services.clv, docs/clv.md): the horizon in years, and the
# yearly rate future attendances are discounted at (0: not discounted). Fitted nightly and after
# every completed event.
CLV_HORIZON_YEARS = env_float("CLV_HORIZON_YEARS", 3.0)
CLV_ANNUAL_DISCOUNT_RATE = env_float("CLV_ANNUAL_DISCOUNT_RATE", 0.0)
if not 0 < CLV_HORIZON_YEARS <= 100:
    raise ImproperlyConfigured(f"CLV_HORIZON_YEARS must be above 0 and at most 100, got {CLV_HORIZON_YEARS}.")
if not 0 <= CLV_ANNUAL_DISCOUNT_RATE < 10:
    raise ImproperlyConfigured(
        f"CLV_ANNUAL_DISCOUNT_RATE must be from 0 to below 10 (0.08 = 8 %), got {CLV_ANNUAL_DISCOUNT_RATE}."
    )
CELERY_BEAT_SCHEDULE["nightly-clv-fit"] = {"task": "scoring.fit_clv", "schedule": crontab(hour=4, minute=0)}
# Attendee imports in the admin (events.imports, README "Importing attendee lists"): the largest
# list taken, the sweep that sends a preview or import again whose task was lost, and how often.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000)
IMPORT_MAX_MB = env_int("IMPORT_MAX_MB", 200)
IMPORT_MAX_ATTEMPTS = env_int("IMPORT_MAX_ATTEMPTS", 5)  # starts of one run's task before it fails
IMPORT_BATCH_ROWS = env_int("IMPORT_BATCH_ROWS", 2000)  # rows per transaction (and per progress step)
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 120)  # a task silent this long is taken for dead
IMPORT_KEEP_PREVIEW_HOURS = env_int("IMPORT_KEEP_PREVIEW_HOURS", 24)  # then a preview not imported is cancelled
CELERY_BEAT_SCHEDULE["events-sweep-attendee-imports"] = {
    "task": "events.sweep_attendee_imports", "schedule": float(SCORING_OUTBOX_SWEEP_SECONDS),
}
# Meeting suggestions at an event (events.meeting_suggestions): at most this many per attendee.
MEETING_SUGGESTIONS_PER_ATTENDEE = env_int("MEETING_SUGGESTIONS_PER_ATTENDEE", 5)
# Contact fatigue (contacts.fatigue, docs/contact-fatigue.md): (window in days, cap) of the
# agency's own touches of a contact; at a cap, planning another follow-up needs an override.
CONTACT_FATIGUE_CAPS = [(7, 3), (30, 6)]
# Follow-up deadlines (contacts.deadlines): an event's attendees are to be followed up within
# this many minutes after its end, unless the event sets its own (60 for hot leads: seed 004);
# the "Missed deadline" queue shows the events whose deadline passed within the last N days.
FOLLOW_UP_DEADLINE_MINUTES = env_int("FOLLOW_UP_DEADLINE_MINUTES", 2880)  # 48 h
MISSED_DEADLINE_WINDOW_DAYS = env_int("MISSED_DEADLINE_WINDOW_DAYS", 30)
# The sales team's morning mail of overdue and today's follow-ups (CELERY_TIMEZONE: Berlin time).
CELERY_BEAT_SCHEDULE["followup-digest"] = {
    "task": "contacts.tasks.send_followup_digest_task",
    "schedule": crontab(hour=7, minute=0),
}

# Security: production defaults, relaxed only in DEBUG.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# gunicorn serves plain http behind the TLS-terminating proxy, which redirects http to https;
# partner systems on the same host call it directly. DJANGO_SECURE_SSL_REDIRECT=1 makes Django
# redirect too (SECURE_PROXY_SSL_HEADER tells it which requests came in over https).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_SSL_REDIRECT else ["security.W008"]
# Covering indexes carry INCLUDE columns on PostgreSQL; SQLite builds them as plain indexes.
SILENCED_SYSTEM_CHECKS.append("models.W040")
# Only a proxy in front (DJANGO_BEHIND_PROXY=1) may say a request came over https, and which
# address it came from (X-Forwarded-For, see ror_crm/security.py): a client calling gunicorn
# directly could otherwise claim either.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
elif SECURE_SSL_REDIRECT:
    raise ImproperlyConfigured(
        "DJANGO_SECURE_SSL_REDIRECT=1 needs DJANGO_BEHIND_PROXY=1: gunicorn speaks plain http, so without "
        "the TLS proxy's X-Forwarded-Proto every request would be redirected again."
    )
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp) for every page: the admin, the RoR pages and the API docs
# load scripts only from here (no inline scripts), nothing from elsewhere. Styles also allow
# inline: templates and Swagger UI use style attributes, which nonces cannot cover.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # 'unsafe-hashes' + a hash admits exactly one inline handler: django-import-export's
        # "Select all" on its export page (onchange="onSelectToggleChange(event)"), no other.
        "script-src": ["'self'", "'unsafe-hashes'", "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# With an SMTP host the digest goes out by SMTP; without one it is printed to the log.
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 30
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if env_str("DJANGO_EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "ror-crm@localhost")
# Absolute links in e-mails (the digest links to the worklist).
SITE_URL = env_str("DJANGO_SITE_URL", "http://localhost:8000")

# The request body cap: bulk imports of 1,000 rows fit well below it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)

# One line per record, with the request's id (X-Request-ID, ror_crm.middleware) when there is one.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ror_crm.middleware.RequestIDLogFilter"}},
    "formatters": {"structured": {
        "format": "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s",
    }},
    "handlers": {"console": {
        "class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "structured",
    }},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}
# The development server's request lines without query strings (`?email=…` is personal data);
# gunicorn's access log format leaves them out too (gunicorn.conf.py).
LOGGING["filters"]["mask_query_strings"] = {"()": "ror_crm.log_filters.MaskQueryStrings"}
LOGGING["loggers"] = {"django.server": {"handlers": ["console"], "filters": ["mask_query_strings"], "propagate": False}}
# A 503 for an unreachable PostgreSQL or Redis is logged as a warning (each request's own line
# names the error), not as an ERROR with a traceback per request during an outage.
LOGGING["filters"]["service_unavailable_as_warning"] = {"()": "ror_crm.log_filters.ServiceUnavailableAsWarning"}
LOGGING["loggers"]["django.request"] = {"filters": ["service_unavailable_as_warning"]}

# Partner API (API.md): API keys or a staff session, cursor pages, throttled per key.
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "1000/min")
# Webhooks go to https URLs on public addresses only (partners/outbound.py). Plain http is
# for receivers without TLS; private addresses are for tests and a receiver on this host.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# Failed API-key authentications per client address (REMOTE_ADDR) before 429s.
API_AUTH_FAILURE_RATE = env_str("API_AUTH_FAILURE_RATE", "30/min")
# With Redis, a web process keeps the API keys it verified until any key is written, at most this
# long (partners/verified_keys.py); 0: every request reads its key from the database.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 60)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["partners.permissions.HasAPIScope"],
    "DEFAULT_PAGINATION_CLASS": "partners.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "partners.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "partners.filters.PublicOrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["partners.throttling.APIKeyRateThrottle"],
    "EXCEPTION_HANDLER": "partners.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "partners.schema.PartnerAutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "partners.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["partners.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "partners.negotiation.PartnerKeyNegotiation",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "partners.schema.allow_empty_query_values",
        "partners.schema.describe_updated_since",
        "partners.schema.erased_contacts_have_null_personal_data",
        "partners.schema.bulk_rows_are_checked_one_by_one",
        "partners.schema.emails_may_have_international_domains",
        "partners.schema.check_ins_name_people_one_way",
    ],
    "TITLE": "RoR CRM partner API",
    "DESCRIPTION": (
        "Return on Relationship CRM for event agencies: contacts, events, attendances, networking, "
        "follow-ups, feedback, referrals, relationship scores and event metrics. "
        "Authenticate with `Authorization: Api-Key <key>`. Unsafe requests (POST, PUT, PATCH, DELETE) take "
        "an optional `Idempotency-Key` header (1-255 characters): for 24 h the same key, per credential, with "
        "the same method, URL and body (JSON compared by value) returns the first response again (header "
        "`Idempotent-Replayed: true`) and changes nothing; the same key with another request is a 422, a 409 "
        "while the first still runs. A 429 says in `Retry-After` how many seconds to wait, and so does a 503 "
        "(the database or Redis unreachable for a moment: nothing was written, retry). Paths end with a slash "
        "(a write sent without it gets 308 to the path with it). A 400 maps fields to messages; a list field's "
        "messages name their item, counted from 0 (`[1]: …`). Text is stored "
        "without the whitespace around it; a field's `maxLength` counts the text as sent."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Partners authenticate with keys; the staff session is for the browsable API, not the contract.
    "AUTHENTICATION_WHITELIST": ["partners.authentication.APIKeyAuthentication"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EventStatusEnum": "events.choices.EventStatus",
        "EventKindEnum": "events.choices.EventKind",
        "AttendanceStatusEnum": "events.choices.AttendanceStatus",
        "InteractionKindEnum": "events.choices.InteractionKind",
        "MeetingReasonEnum": "events.choices.MeetingReason",
        "FollowUpStatusEnum": "contacts.choices.FollowUpStatus",
    },
}
