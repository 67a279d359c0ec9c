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
