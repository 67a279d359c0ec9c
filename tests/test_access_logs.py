"""Access logs carry no personal data from query strings (`?email=…`): gunicorn's access log
format (gunicorn.conf.py) and Django's development server log (settings LOGGING)."""

import logging
import runpy
from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

from tests.conftest import PROJECT_ROOT

EMAIL = "zyx.erase-me@example.org"


def test_gunicorn_logs_the_path_without_query_or_referrer():
    config = Config()
    config.set("access_log_format", runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))["access_log_format"])
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": f"/api/v1/contacts/?email={EMAIL}", "PATH_INFO": "/api/v1/contacts/",
        "QUERY_STRING": f"email={EMAIL}", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": f"https://crm.example.com/admin/contacts/contact/?q={EMAIL}", "HTTP_USER_AGENT": "curl/8",
    }
    response = SimpleNamespace(status="200 OK", sent=42, headers=[])
    atoms = Logger(config).atoms(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))

    line = config.access_log_format % atoms

    assert '"GET /api/v1/contacts/ HTTP/1.1" 200 42' in line
    assert "zyx" not in line


def test_the_development_server_log_masks_query_strings():
    logger = logging.getLogger("django.server")
    handler = logger.handlers[0]
    records = []
    handler.emit, original = records.append, handler.emit
    try:
        logger.info('"%s" %s %s', f"GET /api/v1/contacts/?email={EMAIL}&page_size=10 HTTP/1.1", "200", "512")
    finally:
        handler.emit = original

    assert [record.getMessage() for record in records] == ['"GET /api/v1/contacts/?… HTTP/1.1" 200 512']


def test_requests_gunicorn_refuses_itself_are_answered_as_json(tmp_path):
    """A request line or a header too large, a malformed Content-Length: gunicorn answers them
    before the app, as JSON (README "Errors") with the project's gunicorn.conf.py."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env |= {"DJANGO_SETTINGS_MODULE": "ror_crm.settings", "DJANGO_SECRET_KEY": "gunicorn-" + "x" * 50,
            "DJANGO_ALLOWED_HOSTS": "x", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "ror_crm.wsgi"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def ask(raw: bytes) -> tuple[str, dict[str, str], bytes]:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        return status, dict(line.split(": ", 1) for line in lines), body

    try:
        long_query = "&".join(f"contact={n}" for n in range(900))  # 8.8 KB
        allowed = "&".join(f"contact={n}" for n in range(600))  # 5.8 KB: over gunicorn's default, under ours
        refused = [
            f"GET /api/v1/interactions/?{long_query} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
            b"GET /api/v1/contacts/ HTTP/1.1\r\nHost: x\r\nAuthorization: Api-Key " + b"a" * 10_000 + b"\r\n\r\n",
            b"POST /api/v1/contacts/ HTTP/1.1\r\nHost: x\r\nContent-Length: twelve\r\n\r\n",
        ]
        for raw in refused:
            status, headers, body = ask(raw)
            assert status.split()[1] in {"400", "431"}, status
            assert headers["Content-Type"] == "application/json"
            assert set(json.loads(body)) == {"detail"}
        status, _, body = ask(f"GET /api/v1/interactions/?{allowed} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert status.split()[1] == "401", body  # reached the app, which asks for a key: the line was not refused
    finally:
        server.terminate()
        server.wait(10)


def test_a_request_the_worker_timeout_ends_is_a_503_with_retry_after(tmp_path):
    """A request still running at gunicorn's worker timeout (waiting on a service that does not
    answer, e.g. a hung PostgreSQL behind a kept connection) is answered 503 with Retry-After and
    a JSON body by the project's gunicorn.conf.py, not with gunicorn's 500."""
    import json
    import os
    import socket
    import subprocess
    import sys

    (tmp_path / "hanging_app.py").write_text(
        "import time\n\nimport django\n\ndjango.setup()  # as ror_crm.wsgi: the config's worker start-up loads the URLconf\n\n\n"
        "def application(environ, start_response):\n    time.sleep(60)\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env |= {"DJANGO_SETTINGS_MODULE": "ror_crm.settings", "DJANGO_SECRET_KEY": "gunicorn-" + "x" * 50,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "2", "--pythonpath", str(tmp_path), "hanging_app"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        sock = connect_when_listening(port)
        with sock:
            sock.settimeout(30)
            sock.sendall(b"GET /api/v1/contacts/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines)
        assert status == "HTTP/1.1 503 Service Unavailable"
        assert (headers["Content-Type"], headers["Retry-After"]) == ("application/json", "30")
        assert json.loads(body)["detail"].startswith("The request did not finish in time")
    finally:
        server.terminate()
        server.wait(10)


def connect_when_listening(port: int):
    import socket
    import time

    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
