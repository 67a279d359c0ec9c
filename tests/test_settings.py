"""ror_crm.settings read from the environment, checked in fresh processes with a clean environment.

Settings are read once per process, so every case starts its own Python with only the
variables it names (plus PATH): what the developer's shell exports cannot leak in.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_KEY = secrets.token_urlsafe(64)  # 86 characters, as `check --deploy` wants (50+, varied)

READ_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "HOST": db["HOST"], "PORT": db["PORT"],
    "USER": db["USER"], "PASSWORD": db["PASSWORD"],
    "EAGER": settings.CELERY_TASK_ALWAYS_EAGER, "BROKER": settings.CELERY_BROKER_URL,
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "EMAIL": [settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER,
              settings.EMAIL_USE_TLS],
}))
"""


def run_python(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean_env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "ror_crm.settings", **env}
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=clean_env, capture_output=True, text=True, timeout=120
    )


def read_settings(**env: str) -> dict:
    result = run_python(["-c", READ_SETTINGS], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def settings_error(**env: str) -> str:
    """The last line of the traceback of a settings import that must fail."""
    result = run_python(["-c", READ_SETTINGS], **env)
    assert result.returncode != 0, f"settings loaded but should have failed: {result.stdout}"
    return result.stderr.strip().splitlines()[-1]


class TestSecretKey:
    @pytest.mark.parametrize("env", [{}, {"DJANGO_SECRET_KEY": ""}, {"DJANGO_DEBUG": "0"}])
    def test_production_without_a_secret_key_refuses_to_start(self, env):
        error = settings_error(**env)

        assert error.startswith("django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is required")
        assert "DJANGO_DEBUG" in error  # says how to get going locally

    def test_debug_runs_without_a_key(self):
        assert read_settings(DJANGO_DEBUG="1")["DEBUG"] is True

    def test_production_with_a_key_starts_with_debug_off(self):
        assert read_settings(DJANGO_SECRET_KEY=PRODUCTION_KEY)["DEBUG"] is False

    def test_a_misspelt_boolean_is_an_error_not_false(self):
        error = settings_error(DJANGO_DEBUG="ja", DJANGO_SECRET_KEY=PRODUCTION_KEY)

        assert "DJANGO_DEBUG must be a boolean" in error


    @pytest.mark.parametrize("key", ["django-insecure-compose-local-only-change-me", "django-insecure-" + "k" * 50])
    def test_production_refuses_a_published_placeholder_key(self, key):
        error = settings_error(DJANGO_SECRET_KEY=key)

        assert error.startswith("django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is a known insecure")
        assert read_settings(DJANGO_DEBUG="1", DJANGO_SECRET_KEY=key)["DEBUG"] is True  # fine for local development


READ_PROXY = """
import django
from django.conf import settings
from django.test import RequestFactory
django.setup()
request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.50",
                               REMOTE_ADDR="127.0.0.1")
from ror_crm.security import client_address
print(request.is_secure(), client_address(request))
"""


class TestProxy:
    def test_without_a_proxy_forwarded_headers_are_not_believed(self):
        result = run_python(["-c", READ_PROXY], DJANGO_SECRET_KEY=PRODUCTION_KEY)

        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["False", "127.0.0.1"]  # a client calling gunicorn directly cannot claim https

    def test_behind_the_proxy_its_headers_count(self):
        result = run_python(["-c", READ_PROXY], DJANGO_SECRET_KEY=PRODUCTION_KEY, DJANGO_BEHIND_PROXY="1")

        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "192.0.2.50"]  # the address the proxy appended

    def test_an_ssl_redirect_needs_the_proxy(self):
        error = settings_error(DJANGO_SECRET_KEY=PRODUCTION_KEY, DJANGO_SECURE_SSL_REDIRECT="1")

        assert "DJANGO_SECURE_SSL_REDIRECT=1 needs DJANGO_BEHIND_PROXY=1" in error
        result = run_python(["-c", READ_PROXY], DJANGO_SECRET_KEY=PRODUCTION_KEY, DJANGO_SECURE_SSL_REDIRECT="1",
                            DJANGO_BEHIND_PROXY="1")
        assert result.returncode == 0, result.stderr


class TestDatabaseUrl:
    def test_postgres_url_selects_the_postgresql_backend(self):
        # Django's backend with psycopg's compiled timestamp loader (ror_crm/postgresql).
        db = read_settings(DJANGO_DEBUG="1", DATABASE_URL="postgres://ror:s3cret@db.internal:5433/ror_crm")

        assert (db["ENGINE"], db["HOST"], db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (
            "ror_crm.postgresql", "db.internal", 5433, "ror_crm", "ror", "s3cret",
        )

    def test_default_is_the_sqlite_file_of_the_demo(self):
        db = read_settings(DJANGO_DEBUG="1")

        assert db["ENGINE"] == "django.db.backends.sqlite3"
        assert Path(db["NAME"]) == PROJECT_ROOT / "db.sqlite3"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("mongodb://db.internal/ror", "DATABASE_URL is not a valid database URL: Scheme 'mongodb://' is unknown"),
            ("db.internal:5432", "DATABASE_URL is not a valid database URL"),
            ("postgres://db.internal:5432", "DATABASE_URL names no database"),
        ],
    )
    def test_a_bad_url_fails_with_a_clear_message(self, url, message):
        error = settings_error(DJANGO_DEBUG="1", DATABASE_URL=url)

        assert error.startswith(f"django.core.exceptions.ImproperlyConfigured: {message}")


class TestRedisUrl:
    def test_without_redis_tasks_run_eagerly_and_the_cache_is_local(self):
        config = read_settings(DJANGO_DEBUG="1")

        assert (config["EAGER"], config["BROKER"], config["CACHE"]) == (
            True, "memory://", "django.core.cache.backends.locmem.LocMemCache",
        )

    def test_with_redis_tasks_go_to_the_broker_and_the_cache_is_shared(self):
        config = read_settings(DJANGO_DEBUG="1", REDIS_URL="redis://cache.internal:6379/2")

        assert (config["EAGER"], config["BROKER"], config["CACHE"]) == (
            False, "redis://cache.internal:6379/2", "django.core.cache.backends.redis.RedisCache",
        )


class TestEmail:
    def test_without_an_smtp_host_mail_goes_to_the_log(self):
        assert read_settings(DJANGO_DEBUG="1")["EMAIL"][0] == "django.core.mail.backends.console.EmailBackend"

    def test_an_smtp_host_sends_by_smtp(self):
        config = read_settings(
            DJANGO_DEBUG="1", DJANGO_EMAIL_HOST="smtp.agency.example", DJANGO_EMAIL_PORT="465",
            DJANGO_EMAIL_HOST_USER="crm", DJANGO_EMAIL_USE_TLS="0",
        )
        assert config["EMAIL"] == ["django.core.mail.backends.smtp.EmailBackend", "smtp.agency.example", 465, "crm", False]


class TestDeployCheck:
    def test_production_settings_pass_the_deploy_check_without_warnings(self):
        result = run_python(
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            DJANGO_SECRET_KEY=PRODUCTION_KEY, DJANGO_ALLOWED_HOSTS="crm.agency.example",
        )

        assert result.returncode == 0, result.stderr
        assert "System check identified no issues" in result.stdout

    def test_the_deploy_check_catches_debug(self):
        # The control: the same check fails for a development configuration.
        result = run_python(
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            DJANGO_DEBUG="1", DJANGO_SECRET_KEY=PRODUCTION_KEY, DJANGO_ALLOWED_HOSTS="crm.agency.example",
        )

        assert result.returncode != 0
        assert "security.W018" in result.stderr  # DEBUG on


def test_static_urls_are_plain_before_collectstatic_and_hashed_after(tmp_path, settings):
    from ror_crm.storage import ManifestStaticFilesStorage

    settings.DEBUG = False  # the storage of production
    before = ManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    assert before.url("admin/css/base.css") == "/static/admin/css/base.css"

    manifest = {"version": "1.1", "hash": "x", "paths": {"admin/css/base.css": "admin/css/base.0123abcd.css"}}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    after = ManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    assert after.url("admin/css/base.css") == "/static/admin/css/base.0123abcd.css"
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        after.url("not/collected.css")


READ_RELIABILITY = """
import json
import django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "CONN_MAX_AGE": db["CONN_MAX_AGE"], "CONN_HEALTH_CHECKS": db["CONN_HEALTH_CHECKS"],
    "TIME_LIMIT": settings.CELERY_TASK_TIME_LIMIT,
    "VISIBILITY": settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"],
    "PUBLISH_RETRIES": settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"],
    "CONNECT_TIMEOUT": settings.CELERY_BROKER_CONNECTION_TIMEOUT,
    "CACHE_OPTIONS": settings.CACHES["default"].get("OPTIONS", {}),
    "BROKER_MAX_RETRIES": settings.CELERY_BROKER_CONNECTION_MAX_RETRIES,
    "BROKER_SOCKET_TIMEOUT": settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"],
    "RESULT_SOCKET_TIMEOUT": settings.CELERY_REDIS_SOCKET_TIMEOUT,
    "DB_CONNECT_TIMEOUT": db["OPTIONS"].get("connect_timeout"),
}))
"""


class TestReliability:
    def test_kept_database_connections_are_health_checked(self):
        """A database restart must not make the first request of each web worker a 500."""
        result = run_python(["-c", READ_RELIABILITY], DJANGO_SECRET_KEY=PRODUCTION_KEY, DATABASE_CONN_MAX_AGE="60",
                            DATABASE_URL="postgres://ror:s3cret@db.internal:5432/ror_crm", REDIS_URL="redis://r:6379/0")
        assert result.returncode == 0, result.stderr
        values = json.loads(result.stdout.strip().splitlines()[-1])

        assert (values["CONN_MAX_AGE"], values["CONN_HEALTH_CHECKS"]) == (60, True)
        # An unacknowledged task comes back soon after the time limit, not after Kombu's default hour.
        assert values["TIME_LIMIT"] < values["VISIBILITY"] <= values["TIME_LIMIT"] + 120
        # With Redis down, sending fails within a couple of seconds instead of retrying for ~19 s.
        assert values["PUBLISH_RETRIES"] <= 1
        assert values["CONNECT_TIMEOUT"] <= 2
        assert values["CACHE_OPTIONS"]["socket_connect_timeout"] <= 2
        # A hung Redis costs a call seconds (ror_crm.queue.redis_breaker), a hung PostgreSQL a connect.
        assert values["CACHE_OPTIONS"]["socket_timeout"] == values["BROKER_SOCKET_TIMEOUT"] == 2
        assert values["RESULT_SOCKET_TIMEOUT"] == 2
        assert values["DB_CONNECT_TIMEOUT"] == 5
        # A worker waits out a Redis outage of any length instead of exiting after 100 retries.
        assert values["BROKER_MAX_RETRIES"] is None

    def test_the_visibility_timeout_follows_the_time_limit(self):
        result = run_python(["-c", READ_RELIABILITY], DJANGO_SECRET_KEY=PRODUCTION_KEY, CELERY_TASK_TIME_LIMIT="600")
        values = json.loads(result.stdout.strip().splitlines()[-1])
        assert (values["TIME_LIMIT"], values["VISIBILITY"]) == (600, 660)
