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


class TestDatabaseUrl:
    def test_postgres_url_selects_the_postgresql_backend(self):
        db = read_settings(DJANGO_DEBUG="1", DATABASE_URL="postgres://ror:s3cret@db.internal:5433/ror_crm")

        assert (db["ENGINE"], db["HOST"], db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (
            "django.db.backends.postgresql", "db.internal", 5433, "ror_crm", "ror", "s3cret",
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
