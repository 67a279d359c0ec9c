"""HTTP requests to URLs that agency staff typed in (webhooks), without reaching inside the network.

A webhook URL could point at the database, the cloud metadata service or a router. So:
https only (http with WEBHOOK_ALLOW_HTTP); the host must resolve to public addresses only,
checked when the subscription is saved and again at every send, and the connection goes to
the address that was checked, so a DNS answer that changes in between (rebinding) cannot
redirect it. Redirects are not followed, the answer is read up to MAX_RESPONSE_BYTES, and a
failed connection is reported without details (refused or timed out would map the network).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES lifts the address rule, for tests and local receivers.
"""

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _

MAX_RESPONSE_BYTES = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeURL(Exception):
    """The URL may not be called; the message says why, for the form and the delivery log."""


class DeliveryFailed(Exception):
    """No answer: the connection, TLS or the receiver failed or timed out (deliberately vague)."""


def allowed_schemes() -> set[str]:
    return {"https", "http"} if settings.WEBHOOK_ALLOW_HTTP else {"https"}


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is not part of it
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # is_global excludes loopback, private, link-local, shared, reserved and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, all public (unless allowed otherwise), or UnsafeURL."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(_("The host name could not be resolved.")) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES and not all(is_public(address) for address in addresses):
        raise UnsafeURL(_(
            "The host resolves to an address that is not public (loopback, private, link-local, reserved, "
            "multicast or unspecified). Webhooks are only sent to public addresses."
        ))
    return addresses


def check_url(url: str) -> tuple[SplitResult, list[str]]:
    """The URL's parts and the checked addresses of its host, or UnsafeURL."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        raise UnsafeURL(_("Enter a valid URL.")) from None
    if parts.scheme not in allowed_schemes():
        if settings.WEBHOOK_ALLOW_HTTP:
            raise UnsafeURL(_("Use an https:// or http:// URL."))
        raise UnsafeURL(_("Use an https:// URL."))
    if not parts.hostname:
        raise UnsafeURL(_("Enter a valid URL."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL(_("The URL must not contain a user name or password."))
    return parts, resolve(parts.hostname, port)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to an address checked beforehand, with SNI and the certificate checked for the host name."""

    def __init__(self, address: str, port: int, *, server_hostname: str, timeout: float):
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self.server_hostname = server_hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP to the address, no DNS
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_hostname)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST to `url` at its checked address; the answer's status (a 3xx is not followed).

    Raises UnsafeURL (not sent) or DeliveryFailed (no answer).
    """
    parts, addresses = check_url(url)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if ":" in parts.hostname:  # an IPv6 literal keeps its brackets in the Host header
        host_header = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        connection = PinnedHTTPSConnection(addresses[0], port, server_hostname=parts.hostname, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(addresses[0], port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={**headers, "Host": host_header})
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)  # the body is not used; never more than this is read
        return response.status
    except (OSError, http.client.HTTPException) as error:  # socket, TLS and protocol errors, timeouts
        raise DeliveryFailed from error
    finally:
        connection.close()
