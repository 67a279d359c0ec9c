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


def test_every_operation_in_the_api_docs_shows_a_summary_under_its_resource(page):
    """What a partner developer sees in Swagger UI: a summary on every operation, grouped by resource."""
    page.goto(f"{page.base_url}/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()

    operations = page.evaluate("""() => Array.from(document.querySelectorAll('.swagger-ui .opblock')).map(block => ({
        path: block.querySelector('.opblock-summary-path')?.innerText.trim(),
        method: block.querySelector('.opblock-summary-method')?.innerText.trim(),
        summary: (block.querySelector('.opblock-summary-description')?.innerText || '').trim(),
    }))""")
    assert len(operations) > 50
    assert [f"{o['method']} {o['path']}" for o in operations if not o["summary"]] == []
    assert page.locator(".swagger-ui .opblock-tag").count() > 5
