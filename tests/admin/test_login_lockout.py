"""Admin login brute force: django-axes locks a user out at one address after a few wrong passwords."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
ATTACKER = "203.0.113.7"
PASSWORDS = {"anna": "pw-anna-123", "sven": "pw-sven-123"}  # the personas of tests/admin/conftest.py


def log_in(username: str, password: str, address: str = ATTACKER, **headers):
    """A fresh browser posting the admin login form; the response and whether it is logged in."""
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, "_auth_user_id" in client.session


def fail_logins(username: str, times: int, address: str = ATTACKER) -> list[int]:
    return [log_in(username, "wrong-password", address)[0].status_code for _ in range(times)]


def test_wrong_passwords_lock_the_user_out_even_with_the_right_one(settings, staff_user):
    assert settings.AXES_FAILURE_LIMIT == 5

    statuses = fail_logins("anna", 5)

    assert statuses[:4] == [200] * 4  # the form again, "enter a correct username and password"
    response, logged_in = log_in("anna", PASSWORDS["anna"])
    assert not logged_in
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    text = response.content.decode()
    assert "Too many failed logins for this user from your address. Try again in 15 minutes" in text
    assert 'id="site-name"' in text  # the admin's header: the page looks like the admin


def test_a_lockout_holds_only_for_that_user_at_that_address(staff_user, sales_user):
    fail_logins("anna", 5)

    assert log_in("sven", PASSWORDS["sven"])[1]  # another user from the same address
    assert log_in("anna", PASSWORDS["anna"], address="198.51.100.20")[1]  # the same user elsewhere
    assert not log_in("anna", PASSWORDS["anna"])[1]


def test_fewer_failures_than_the_limit_do_not_lock_and_a_login_starts_over(staff_user):
    fail_logins("anna", 4)
    assert log_in("anna", PASSWORDS["anna"])[1]

    fail_logins("anna", 4)  # counted from zero again after the successful login
    assert log_in("anna", PASSWORDS["anna"])[1]


def test_axes_reset_unlocks(staff_user):
    fail_logins("anna", 5)
    assert not log_in("anna", PASSWORDS["anna"])[1]

    call_command("axes_reset_username", "anna")

    assert log_in("anna", PASSWORDS["anna"])[1]


def test_agency_staff_see_lockouts_in_the_admin_and_unlock_them(staff_user, client):
    from axes.models import AccessAttempt

    fail_logins("anna", 5)
    client.force_login(staff_user)  # logged in from elsewhere (force_login does not pass axes)
    attempt = AccessAttempt.objects.get(username="anna", ip_address=ATTACKER)

    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    response = client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert log_in("anna", PASSWORDS["anna"])[1]


def test_sales_do_not_see_lockouts(sales_user, client):
    client.force_login(sales_user)

    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403


def test_the_lockout_page_speaks_german(staff_user):
    fail_logins("anna", 5)

    response, _ = log_in("anna", PASSWORDS["anna"], HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in response.content.decode()


def test_a_forwarded_address_counts_only_behind_the_proxy(settings, staff_user):
    forged = {"HTTP_X_FORWARDED_FOR": "192.0.2.1"}
    for _ in range(5):
        Client(REMOTE_ADDR=ATTACKER, **forged).post(LOGIN, {"username": "anna", "password": "wrong-password"})
    # Without the proxy setting the header is ignored: the failures counted against REMOTE_ADDR.
    assert not log_in("anna", PASSWORDS["anna"])[1]

    settings.BEHIND_PROXY = True
    proxied = {"HTTP_X_FORWARDED_FOR": "192.0.2.99, 198.51.100.30"}  # the proxy appended the last one
    assert log_in("anna", PASSWORDS["anna"], address="10.0.0.2", **proxied)[1]
