"""The admin and the API docs work under the Content Security Policy (violations fail every browser test)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_under_the_policy(page):
    page.goto(f"{page.base_url}/api/docs/")

    page.locator(".swagger-ui .info .title").wait_for()  # drawn by Swagger UI's scripts from the schema
    assert "RoR CRM partner API" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 10


def test_the_admin_login_and_index_work_under_the_policy(page, login, staff_user):
    login(staff_user)

    page.goto(f"{page.base_url}/admin/contacts/contact/add/")
    page.locator("#contact_form").wait_for()
    page.goto(f"{page.base_url}/admin/events/event/")
    page.locator("#changelist").wait_for()
