"""/health/ (PostgreSQL, Redis, a worker's heartbeat), request ids in logs, and 503 for Redis down."""

import logging
import sys
import time

import pytest
import redis.connection
import redis.exceptions
from django.core.cache import cache, caches

from ror_crm import health
from ror_crm.middleware import RequestIDLogFilter

pytestmark = pytest.mark.django_db


def cache_class():
    """The cache backend in use: local memory, or Redis under `make test`."""
    return type(caches["default"])


def refuse(*args, **kwargs):
    raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


class TestHealth:
    def test_all_checks_pass(self, client):
        response = client.get("/health/")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok", "checks": {"database": {"ok": True}, "cache": {"ok": True}, "worker": {"ok": True}},
        }
        assert response["Cache-Control"].startswith("max-age=0")

    def test_redis_down_is_a_503_naming_the_check(self, client, monkeypatch):
        monkeypatch.setattr(cache_class(), "set", refuse)
        response = client.get("/health/")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "fail"
        assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}
        assert body["checks"]["database"] == {"ok": True}

    def test_the_checks_can_be_chosen(self, client, monkeypatch):
        monkeypatch.setattr(cache_class(), "set", refuse)
        response = client.get("/health/?check=database")
        assert (response.status_code, list(response.json()["checks"])) == (200, ["database"])
        assert client.get("/health/?check=disk").status_code == 400

    def test_the_worker_check_wants_a_fresh_heartbeat(self, client, settings):
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.HEALTH_WORKER_MAX_AGE_SECONDS = 120
        cache.delete(health.HEARTBEAT_KEY)
        assert client.get("/health/?check=worker").json()["checks"]["worker"] == {"ok": False, "error": "no worker heartbeat"}

        cache.set(health.HEARTBEAT_KEY, {"at": time.time() - 600, "worker": "w1"})
        stale = client.get("/health/?check=worker")
        assert stale.status_code == 503
        assert "600 s old" in stale.json()["checks"]["worker"]["error"]

        health.record_worker_heartbeat("w1", "boot-1", started=time.time())
        assert client.get("/health/?check=worker").status_code == 200

    def test_a_heartbeat_with_redis_down_is_logged_not_raised(self, monkeypatch, caplog):
        monkeypatch.setattr(cache_class(), "set", refuse)
        health.record_worker_heartbeat("w1", "boot-1", started=time.time())
        assert "Could not write the worker heartbeat" in caplog.text

    def test_the_command_line_exit_code(self, monkeypatch, capsys):
        assert health.main(["database", "cache"]) == 0
        monkeypatch.setattr(cache_class(), "set", refuse)
        assert health.main(["cache"]) == 1
        assert "cache: FAIL ConnectionError" in capsys.readouterr().out

    def test_the_worker_has_a_heartbeat_step(self):
        from ror_crm.celery import Heartbeat, app

        assert Heartbeat in app.steps["worker"]


class TestRequestID:
    def test_a_request_without_an_id_gets_one(self, client):
        response = client.get("/health/")
        assert len(response["X-Request-ID"]) == 32

    def test_a_given_id_is_kept_and_a_bad_one_replaced(self, client):
        assert client.get("/health/", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-ID"] == "lb-1234.abc"
        replaced = client.get("/health/", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
        assert replaced != "bad id\nwith newline"
        assert len(replaced) == 32

    def test_log_records_carry_the_request_id(self, client, monkeypatch, caplog):
        caplog.handler.addFilter(RequestIDLogFilter())
        monkeypatch.setattr(cache_class(), "set", refuse)
        with caplog.at_level(logging.WARNING):
            client.get("/health/?check=cache", HTTP_X_REQUEST_ID="trace-42")
        assert any(getattr(record, "request_id", None) == "trace-42" for record in caplog.records)

    def test_the_log_format_names_the_request_id(self, settings):
        assert "request_id=%(request_id)s" in settings.LOGGING["formatters"]["structured"]["format"]
        assert settings.LOGGING["handlers"]["console"]["filters"] == ["request_id"]


class TestRedisDownAnswers:
    def test_a_page_that_needs_redis_answers_503_with_retry_after(self, staff_client_api, monkeypatch):
        monkeypatch.setattr(cache_class(), "get", refuse)
        response = staff_client_api.get("/api/v1/reports/score-validity/")
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert response.json()["detail"].startswith("A service this request needs is unavailable")

    def test_an_outage_503_is_logged_as_a_warning_a_500_stays_an_error(self, staff_client_api, monkeypatch, caplog):
        monkeypatch.setattr(cache_class(), "get", refuse)
        with caplog.at_level(logging.INFO, logger="django.request"):
            assert staff_client_api.get("/api/v1/reports/score-validity/").status_code == 503
        logged = [record for record in caplog.records if record.name == "django.request"]
        assert [(record.levelname, record.getMessage(), record.exc_info) for record in logged] == [
            ("WARNING", "Service Unavailable: /api/v1/reports/score-validity/", None)]
        # Django's own record of an error response, through the same logger's filters
        try:
            raise ValueError("a bug")
        except ValueError:
            error = logging.getLogger("django.request").makeRecord(
                "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", ("/x/",),
                exc_info=sys.exc_info(), extra={"status_code": 500})
        logging.getLogger("django.request").filter(error)  # (filters may change a record; this one must not)
        assert (error.levelname, error.exc_info is not None) == ("ERROR", True)

    def test_the_api_throttle_fails_open(self, staff_client_api, monkeypatch, settings):
        settings.API_THROTTLE_RATE = "1/min"
        caches["default"].clear()  # no counter left by an earlier test of the same user
        # Redis refuses every command, pipelines too (under `make test`); the local-memory cache
        # cannot create a counter.
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", refuse)
        monkeypatch.setattr(cache_class(), "add", refuse)
        assert [staff_client_api.get("/api/v1/contacts/").status_code for _ in range(3)] == [200, 200, 200]


@pytest.fixture
def staff_client_api(staff_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(staff_user)
    return client
