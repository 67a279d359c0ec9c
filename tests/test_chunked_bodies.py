"""A request body sent chunked (Transfer-Encoding: chunked, no Content-Length) reaches the app:
WSGI servers pass it on as a stream of unknown length, which Django alone reads as empty
(ror_crm.wsgi.ChunkedBodies)."""

import io
import json
import socket
import sys

import pytest
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import override_settings

from contacts.models import Contact
from partners.models import PartnerAPIKey
from ror_crm.wsgi import ChunkedBodies, application
from tests.test_faults import app_env, free_port, own_redis, process, wait_for  # noqa: F401 (fixtures)


class UnknownLength(io.RawIOBase):
    """A server's reader of a chunked body: read(n) until it returns b"", no length known."""

    def __init__(self, body: bytes):
        self.stream = io.BytesIO(body)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(min(size, 1000) if size and size > 0 else -1)  # short reads, as sockets give


class BrokenFraming(UnknownLength):
    """gunicorn's reader meeting a chunk size that is no number: an IOError (InvalidChunkSize)."""

    def read(self, size: int = -1) -> bytes:
        if self.stream.tell() >= 20:
            raise OSError("Invalid chunk size: b'zz'")
        return super().read(size)


def call(body: bytes, key: str, path: str = "/api/v1/contacts/", reader=UnknownLength) -> tuple[str, dict, dict]:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": reader(body),
        "wsgi.errors": sys.stderr, "CONTENT_TYPE": "application/json", "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Api-Key {key}", "HTTP_HOST": "testserver",
    }
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    # As Django's test client: the handler would close the test's connection at the request's start.
    request_started.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
    return answer["status"], json.loads(content) if content else {}, answer["headers"]


@pytest.mark.django_db
def test_a_chunked_body_is_read_whole():
    key = PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]
    tags = [f"tag-{n:03}" for n in range(40)]  # a body of several reads
    status, body, _ = call(json.dumps({"email": "chunked@example.com", "job_title": "x" * 200, "tags": tags}).encode(), key)
    assert status.startswith("201"), body
    assert Contact.objects.get(email="chunked@example.com").tags == tags


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100, IMPORT_MAX_MB=1)
def test_a_chunked_body_over_its_paths_limit_is_refused_with_413():
    key = PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]
    over_the_api_limit = json.dumps({"email": "big@example.com", "last_name": "x" * 200}).encode()
    status, body, headers = call(over_the_api_limit, key)
    assert status.startswith("413")
    assert body == {"detail": "The request body is too large."}
    assert "X-Request-ID" in headers  # answered by the app, with every header a response carries
    assert not Contact.objects.exists()
    # an attendee file may be larger than an API body, up to its own limit
    assert ChunkedBodies.limit("/admin/events/event/7/import-attendees/") == 2 * 1024 * 1024
    assert ChunkedBodies.limit("/admin/contacts/contact/import/") == 2 * 1024 * 1024
    assert ChunkedBodies.limit("/admin/login/") == ChunkedBodies.limit("/api/v1/contacts/") == 100


@pytest.mark.django_db
def test_a_chunked_body_with_broken_framing_is_a_400_not_a_dropped_connection():
    key = PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]
    status, body, _ = call(json.dumps({"email": "broken@example.com", "last_name": "x" * 50}).encode(), key,
                        reader=BrokenFraming)
    assert status.startswith("400")
    assert body == {"non_field_errors": ["The chunked request body is malformed."]}
    assert not Contact.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_gunicorn_passes_a_chunked_body_to_the_app(app_env, tmp_path):  # noqa: F811 (the fixture)
    import requests

    key = PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def health() -> bool:
        try:
            return requests.get(f"{base}/health/?check=database", timeout=2).status_code == 200
        except requests.RequestException:  # not up yet, or still loading the app (a busy machine)
            return False

    log = tmp_path / "gunicorn.log"
    with process([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "ror_crm.wsgi", "--bind",
                  f"127.0.0.1:{port}", "--workers", "1"], app_env, log):
        wait_for(health, what="gunicorn", logs=[log])
        body = json.dumps({"email": "streamed@example.com", "first_name": "Grace"}).encode()
        response = requests.post(f"{base}/api/v1/contacts/", data=iter([body[:10], body[10:]]), timeout=30,
                                 headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"})
        # a chunk size that is no number: answered, not a dropped connection and a traceback in the log
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/contacts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Authorization: Api-Key " + key.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"zz\r\n{}\r\n0\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 201, response.text
    assert Contact.objects.get(email="streamed@example.com").first_name == "Grace"
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"non_field_errors": ["The chunked request body is malformed."]}
    assert "Traceback" not in log.read_text()
