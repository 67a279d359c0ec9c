"""`manage.py ensure_demo_admin`, the login `make demo` prints."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def ensure_demo_admin(*args: str) -> str:
    out = StringIO()
    call_command("ensure_demo_admin", *args, stdout=out)
    return out.getvalue()


def test_creates_a_superuser_and_prints_the_login(settings):
    settings.DEBUG = True

    output = ensure_demo_admin("--url", "http://127.0.0.1:8123/admin/")

    user = authenticate(RequestFactory().post("/admin/login/"), username="admin", password="ror-demo-admin")
    assert user is not None
    assert (user.is_superuser, user.is_staff) == (True, True)
    assert "Log in at http://127.0.0.1:8123/admin/ as admin / ror-demo-admin" in output
    assert "Partner API at http://127.0.0.1:8123/api/v1/; a key for it: make api-key" in output


def test_running_again_resets_the_password_and_rights_without_a_second_user(settings, django_user_model):
    settings.DEBUG = True
    ensure_demo_admin()
    django_user_model.objects.filter(username="admin").update(is_superuser=False, is_active=False)
    admin = django_user_model.objects.get(username="admin")
    admin.set_password("forgotten")
    admin.save()

    output = ensure_demo_admin()

    assert django_user_model.objects.filter(username="admin").count() == 1
    user = authenticate(RequestFactory().post("/admin/login/"), username="admin", password="ror-demo-admin")
    assert user is not None
    assert (user.is_superuser, user.is_active) == (True, True)
    assert output.startswith("Reset the demo superuser.")


def test_refuses_to_run_with_debug_off(settings, django_user_model):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only runs with DJANGO_DEBUG=1"):
        ensure_demo_admin()
    assert not django_user_model.objects.filter(username="admin").exists()


def test_prints_every_demo_login_and_makes_an_agency_staff_user(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--contacts", "20", "--skip-scores", stdout=StringIO())

    output = ensure_demo_admin()

    staff = authenticate(RequestFactory().post("/admin/login/"), username="staff.demo", password="demo-staff")
    assert staff is not None
    assert not staff.is_superuser
    assert staff.groups.filter(name="Agency staff").exists()
    assert "agency staff: staff.demo / demo-staff" in output
    assert "sales: sales.anna, sales.ben, sales.clara, sales.david / demo-sales" in output
    for username in ("sales.anna", "staff.demo"):
        assert authenticate(RequestFactory().post("/admin/login/"), username=username,
                            password="demo-sales" if username.startswith("sales") else "demo-staff") is not None
