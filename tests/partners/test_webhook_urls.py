"""Webhooks cannot reach inside the network (SSRF): URL rules at save, address checks at send."""

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from partners.models import WebhookDelivery, WebhookSubscription
from partners.outbound import post
from partners.webhooks import COULD_NOT_DELIVER, attempt_delivery

pytestmark = pytest.mark.django_db

PUBLIC_ADDRESS = "93.184.216.34"
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """Fake DNS: names in the dict resolve to their addresses (the next list each time), others fail."""
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return REAL_GETADDRINFO(address, port, *args, **kwargs)
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return REAL_GETADDRINFO(host, port, *args, **kwargs)  # an address literal

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def subscription(url: str) -> WebhookSubscription:
    return WebhookSubscription(name="Ticketing", url=url, secret="s3cret", event_types=["event.completed"])


def url_errors(url: str) -> list[str]:
    try:
        subscription(url).full_clean()
    except ValidationError as error:
        return error.message_dict.get("url", [])
    return []


class TestAtSave:
    @pytest.mark.parametrize("url", [
        "https://127.0.0.1/hook",  # loopback
        "https://localhost:5432/",  # loopback by name: the database port
        "https://10.0.0.1/",  # private
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/",  # link-local: the cloud metadata service
        "https://100.64.0.1/",  # shared address space (carrier NAT)
        "https://240.0.0.1/",  # reserved
        "https://224.0.0.1/",  # multicast
        "https://0.0.0.0/",  # unspecified
        "https://[::1]/",
        "https://[fe80::1]/",
        "https://[fd00::1]/",
        "https://[::ffff:127.0.0.1]/",  # IPv4 loopback in IPv6 clothing
    ])
    def test_non_public_addresses_are_refused(self, url, dns):
        dns["localhost"] = ["127.0.0.1"]

        assert url_errors(url) == [
            "The host resolves to an address that is not public (loopback, private, link-local, reserved, "
            "multicast or unspecified). Webhooks are only sent to public addresses."
        ]

    def test_a_name_resolving_to_a_private_address_is_refused(self, dns):
        dns["intranet.partner.example"] = ["10.1.2.3"]

        assert "not public" in url_errors("https://intranet.partner.example/hooks")[0]

    def test_a_public_https_url_is_accepted(self, dns):
        dns["hooks.partner.example"] = [PUBLIC_ADDRESS]

        assert url_errors("https://hooks.partner.example/ror?token=1") == []

    @pytest.mark.parametrize("url", ["ftp://hooks.partner.example/", "http://hooks.partner.example/"])
    def test_only_https_by_default(self, url, dns):
        dns["hooks.partner.example"] = [PUBLIC_ADDRESS]

        assert "Use an https:// URL." in url_errors(url)

    def test_http_only_with_the_setting(self, settings, dns):
        dns["hooks.partner.example"] = [PUBLIC_ADDRESS]
        settings.WEBHOOK_ALLOW_HTTP = True

        assert url_errors("http://hooks.partner.example/") == []
        assert url_errors("ftp://hooks.partner.example/") == ["Use an https:// or http:// URL."]

    def test_unknown_hosts_and_credentials_are_refused(self, dns):
        dns["hooks.partner.example"] = [PUBLIC_ADDRESS]

        assert url_errors("https://nowhere.invalid/") == ["The host name could not be resolved."]
        assert url_errors("https://user:pw@hooks.partner.example/") == ["The URL must not contain a user name or password."]

    def test_the_admin_shows_the_refusal_beside_the_url(self, client, staff_user, dns):
        client.force_login(staff_user)

        response = client.post(reverse("admin:partners_webhooksubscription_add"), {
            "name": "Metadata", "url": "https://169.254.169.254/latest/", "secret": "s3cret-s3cret-s3cret",
            "event_types": ["event.completed"], "is_active": "on",
        })

        assert response.status_code == 200
        assert "not public" in str(response.context["adminform"].form.errors["url"])
        assert not WebhookSubscription.objects.exists()

    def test_the_admin_ticks_event_types(self, client, staff_user, dns):
        dns["hooks.partner.example"] = [PUBLIC_ADDRESS]
        client.force_login(staff_user)
        add = reverse("admin:partners_webhooksubscription_add")
        page = client.get(add).content.decode()
        assert page.count('type="checkbox" name="event_types"') == 4
        assert "event.completed: an event was completed" in page
        german = client.get(add, HTTP_ACCEPT_LANGUAGE="de").content.decode()
        assert "event.completed: eine Veranstaltung wurde abgeschlossen" in german  # each request's language

        response = client.post(add, {"name": "Ticketing", "url": "https://hooks.partner.example/",
                                     "secret": "s3cret-s3cret-s3cret",
                                     "event_types": ["event.completed", "followup.overdue"], "is_active": "on"})

        assert response.status_code == 302
        assert WebhookSubscription.objects.get().event_types == ["event.completed", "followup.overdue"]
        refused = client.post(add, {"name": "Typo", "url": "https://hooks.partner.example/", "secret": "s3cret-s3cret-s3cret",
                                    "event_types": ["event.done"], "is_active": "on"})
        assert "event_types" in refused.context["adminform"].form.errors
        assert WebhookSubscription.objects.count() == 1

    def test_the_admin_offers_a_strong_secret_and_refuses_a_short_one(self, client, staff_user, dns):
        dns["hooks.partner.example"] = [PUBLIC_ADDRESS]
        client.force_login(staff_user)
        add = reverse("admin:partners_webhooksubscription_add")
        offered = client.get(add).context["adminform"].form["secret"].value()
        assert len(offered) >= 40
        assert offered != client.get(add).context["adminform"].form["secret"].value()  # one of its own each time

        short = client.post(add, {"name": "Ticketing", "url": "https://hooks.partner.example/", "secret": "x",
                                  "event_types": ["event.completed"], "is_active": "on"})
        assert "At least 16 characters" in str(short.context["adminform"].form.errors["secret"])
        assert not WebhookSubscription.objects.exists()

        older = WebhookSubscription.objects.create(name="Older", url="https://hooks.partner.example/", secret="short",
                                                   event_types=["event.completed"])
        change = reverse("admin:partners_webhooksubscription_change", args=[older.pk])
        kept = client.post(change, {"name": "Older", "url": "https://hooks.partner.example/", "secret": "short",
                                    "event_types": ["event.completed"]})  # switched off, its secret kept
        assert kept.status_code == 302
        older.refresh_from_db()
        assert (older.is_active, older.secret) == (False, "short")


class Receiver:
    def __init__(self):
        self.paths: list[str] = []
        self.hosts: list[str] = []
        self.status = 200
        self.endless_body = False


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers["Content-Length"]))
            state.paths.append(self.path)
            state.hosts.append(self.headers["Host"])
            self.send_response(state.status)
            if 300 <= state.status < 400:
                self.send_header("Location", "/elsewhere")
            self.end_headers()
            deadline = time.monotonic() + 10
            while state.endless_body and time.monotonic() < deadline:
                try:
                    self.wfile.write(b"x" * 16384)
                except OSError:  # the client stopped reading
                    return

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, server.server_address[1]
    server.shutdown()
    server.server_close()


def delivery_to(url: str) -> WebhookDelivery:
    stored = WebhookSubscription.objects.create(name="Ticketing", url=url, secret="s3cret", event_types=["event.completed"])
    return WebhookDelivery.objects.create(subscription=stored, event_type="event.completed", payload={"event": 1})


@pytest.fixture
def plain_http(settings):
    settings.WEBHOOK_ALLOW_HTTP = True  # the test receiver speaks http


@pytest.mark.usefixtures("plain_http")
class TestAtSend:
    def test_dns_rebinding_to_loopback_is_refused_at_send(self, receiver, dns):
        state, port = receiver
        dns["hooks.partner.example"] = [PUBLIC_ADDRESS, "127.0.0.1"]  # public when saved, loopback when sent
        url = f"http://hooks.partner.example:{port}/hooks"
        assert url_errors(url) == []
        delivery = delivery_to(url)

        assert not attempt_delivery(delivery)

        assert state.paths == []
        assert delivery.last_status_code is None
        assert delivery.last_error.startswith("Not sent: The host resolves to an address that is not public")

    def test_the_connection_goes_to_the_checked_address_with_the_host_name(self, settings, receiver, dns):
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
        state, port = receiver
        dns["hooks.partner.example"] = ["127.0.0.1"]

        assert attempt_delivery(delivery_to(f"http://hooks.partner.example:{port}/hooks?x=1"))

        assert state.paths == ["/hooks?x=1"]
        assert state.hosts == [f"hooks.partner.example:{port}"]

    def test_a_url_stored_before_the_rules_is_not_called(self, dns):
        delivery = delivery_to("ftp://files.partner.example/")

        assert not attempt_delivery(delivery)
        assert delivery.last_error == "Not sent: Use an https:// or http:// URL."

    def test_a_redirect_is_a_failed_attempt_and_not_followed(self, settings, receiver):
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
        state, port = receiver
        state.status = 302
        delivery = delivery_to(f"http://127.0.0.1:{port}/hooks")

        assert not attempt_delivery(delivery)

        assert state.paths == ["/hooks"]  # /elsewhere never asked
        assert (delivery.last_status_code, delivery.last_error) == (302, "The receiver answered HTTP 302.")

    def test_connection_failures_all_read_the_same(self, settings, monkeypatch):
        """Refused, timed out or no TLS: the log must not tell which (a port-scan oracle)."""
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
        monkeypatch.setattr("partners.webhooks.TIMEOUT_SECONDS", 0.5)
        silent = socket.socket()  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        closed = socket.socket()  # bound but not listening: connection refused
        closed.bind(("127.0.0.1", 0))
        try:
            urls = [
                f"http://127.0.0.1:{closed.getsockname()[1]}/",
                f"http://127.0.0.1:{silent.getsockname()[1]}/",
                f"https://127.0.0.1:{silent.getsockname()[1]}/",
            ]
            deliveries = [delivery_to(url) for url in urls]
            for delivery in deliveries:
                assert not attempt_delivery(delivery)
        finally:
            silent.close()
            closed.close()

        assert {(delivery.last_status_code, delivery.last_error) for delivery in deliveries} == {(None, COULD_NOT_DELIVER)}

    def test_an_endless_answer_is_read_only_up_to_the_cap(self, settings, receiver):
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
        state, port = receiver
        state.endless_body = True
        started = time.monotonic()

        status = post(f"http://127.0.0.1:{port}/hooks", b"{}", {"Content-Type": "application/json"}, timeout=5)

        assert status == 200
        assert time.monotonic() - started < 3  # the receiver would write for 10 s


def test_the_refusal_speaks_german(dns):
    from django.utils import translation

    with translation.override("de"):
        assert url_errors("https://127.0.0.1/") == [
            "Der Host verweist auf eine nicht öffentliche Adresse (Loopback, privat, Link-Local, reserviert, "
            "Multicast oder unspezifiziert). Webhooks werden nur an öffentliche Adressen gesendet."
        ]
