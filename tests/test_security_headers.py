"""Content Security Policy on the admin, the RoR pages and the API docs (django-csp)."""

import base64
import hashlib
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


SELECT_ALL_HASH = base64.b64encode(hashlib.sha256(b"onSelectToggleChange(event)").digest()).decode()


def inline_scripts(html: str) -> list[str]:
    """<script> elements without src, other than JSON data: the policy would block them."""
    return [tag for tag in re.findall(r"<script\b[^>]*>", html)
            if "src=" not in tag and 'type="application/json"' not in tag]


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/"])
def test_pages_carry_a_policy_that_allows_only_own_scripts(client, path):
    response = client.get(path)

    assert response.status_code == 200
    policy = directives(response)
    # 'unsafe-hashes' with one hash: django-import-export's "Select all" handler, no other
    assert policy["script-src"] == ["'self'", "'unsafe-hashes'", f"'sha256-{SELECT_ALL_HASH}'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert inline_scripts(response.content.decode()) == []


def test_the_api_docs_load_their_start_script_as_a_file(client):
    html = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="([^"]*\?script[^"]*)"', html).group(1).replace("&amp;", "&")

    script = client.get(script_url)

    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_admin_pages_have_no_inline_scripts(client, staff_user):
    client.force_login(staff_user)
    for url in (reverse("admin:index"), reverse("ror-dashboard"), reverse("ror-worklist"),
                reverse("admin:contacts_contact_add"), reverse("admin:events_event_add")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response
        assert inline_scripts(response.content.decode()) == [], url


def test_favicon_is_served_without_a_404(client):
    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[0][0].endswith("admin-ror/favicon.svg")


@pytest.mark.parametrize("path", ["/admin/contacts/contact/export/", "/admin/django_celery_beat/periodictask/add/"])
def test_third_party_admin_pages_run_no_script_the_policy_blocks(admin_client, path):
    html = admin_client.get(path).content.decode()

    assert inline_scripts(html) == []
    handlers = re.findall(r"\son[a-z]+=\"([^\"]*)\"", html)
    assert set(handlers) <= {"onSelectToggleChange(event)"}
