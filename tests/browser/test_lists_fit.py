"""Every list of the admin fits a 1,366 px laptop screen: no sideways scrolling of the page or of
its table, with the demo agency's data (long names, e-mails and event titles included)."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = """() => {
    const page = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    const table = document.querySelector('#result_list');
    const box = table ? table.parentElement : null;
    return {page: page, table: table ? table.scrollWidth - box.clientWidth : 0, rows: table ? table.rows.length : 0};
}"""

CUT_CELLS = """() => Array.from(document.querySelectorAll('#result_list td, #result_list tbody th'))
    .filter(cell => cell.scrollWidth > cell.clientWidth).map(cell => [cell.innerText.trim(), cell.title])"""


def test_every_changelist_fits_a_laptop_screen(page, login, django_user_model, tmp_path):
    superuser = django_user_model.objects.create_superuser("root", "root@agency.example", PERSONA_PASSWORD)
    call_command("seed_demo", "--contacts", "40", "--today", "2026-03-31", stdout=open(tmp_path / "seed.log", "w"))
    page.set_viewport_size({"width": 1366, "height": 800})
    login(superuser)

    overflowing, with_rows = [], 0
    cut, cut_without_title = 0, []
    for language in ("en", "de"):  # German words are longer (“Zurückgewinnen”, “Sozialisation”)
        page.goto(page.base_url + reverse("admin:index"))
        page.select_option("#ror-language-form select", language)
        page.click("#ror-language-form button")
        for model in admin.site._registry:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            page.goto(page.base_url + url)
            result = page.evaluate(OVERFLOW)
            cells = page.evaluate(CUT_CELLS)
            cut += len(cells)
            cut_without_title += [f"{language} {url}: {text!r}" for text, title in cells if title != text]
            with_rows += result["rows"] > 1
            if result["page"] > 0 or result["table"] > 1:
                overflowing.append(f"{language} {url}: page +{result['page']} px, table +{result['table']} px")

    assert with_rows >= 20  # the demo fills the lists that matter, in both languages
    assert overflowing == []
    # A text cut with an ellipsis is shown whole on hover.
    assert cut > 0
    assert cut_without_title == []
    # No navigation sidebar takes the lists' width.
    assert page.locator("#nav-sidebar").count() == 0


def test_the_busiest_contact_page_reads_at_a_glance(page, login, django_user_model, tmp_path):
    """Summary and timeline first, no editable rows: short and no wider than the screen."""
    from django.db.models import Count

    from contacts.models import Contact

    superuser = django_user_model.objects.create_superuser("root", "root@agency.example", PERSONA_PASSWORD)
    call_command("seed_demo", "--contacts", "40", "--today", "2026-03-31", stdout=open(tmp_path / "seed.log", "w"))
    busiest = Contact.objects.annotate(rows=Count("attendances", distinct=True) + Count("interactions", distinct=True)
                                       + Count("followups", distinct=True)).order_by("-rows").first()
    page.set_viewport_size({"width": 1366, "height": 800})
    login(superuser)

    page.goto(page.base_url + reverse("admin:contacts_contact_change", args=[busiest.pk]))

    # The tools (export, erase, history) sit below the contact's name, never over it: names can be long.
    name, tools = (page.locator(selector).bounding_box() for selector in ("#content > h2", "#content-main > .object-tools"))
    assert tools["y"] >= name["y"] + name["height"]
    size = page.evaluate("({width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,"
                         " client: document.documentElement.clientWidth})")
    assert size["width"] <= size["client"]
    assert size["height"] < 3000
    summary = page.inner_text("#ror-contact-summary")
    for part in ("Owner", "Next follow-up", "Last touch"):
        assert part in summary
    # the summary comes before the timeline, the timeline before the form
    tops = page.evaluate("['#ror-relationship', '#ror-timeline', '#contact_form fieldset.module:not(.ror-panel)']"
                         ".map(selector => document.querySelector(selector).getBoundingClientRect().top)")
    assert tops == sorted(tops)


def test_an_events_rows_fit_a_laptop_screen_in_both_languages(page, login, django_user_model, tmp_path):
    """The attendance and interaction rows on an event's page: no sideways scrolling, a check-in
    time on one line (a row about as tall as its widgets, not four lines)."""
    from django.db.models import Count

    from events.admin import INLINE_MAX_ROWS
    from events.models import Event, Interaction

    superuser = django_user_model.objects.create_superuser("root", "root@agency.example", PERSONA_PASSWORD)
    call_command("seed_demo", "--contacts", "40", "--today", "2026-03-31", stdout=open(tmp_path / "seed.log", "w"))
    event = (Event.objects.annotate(rows=Count("attendances", distinct=True))
             .filter(rows__gt=3, rows__lte=INLINE_MAX_ROWS, interactions__isnull=False).order_by("-rows").first())
    extra = Interaction.objects.filter(event=event).order_by("pk").values_list("pk", flat=True)[INLINE_MAX_ROWS:]
    Interaction.objects.filter(pk__in=list(extra)).delete()  # both lists shown as rows
    page.set_viewport_size({"width": 1366, "height": 800})
    login(superuser)

    for language in ("en", "de"):
        page.goto(page.base_url + reverse("admin:index"))
        page.select_option("#ror-language-form select", language)
        page.click("#ror-language-form button")
        page.goto(page.base_url + reverse("admin:events_event_change", args=[event.pk]))
        groups = page.evaluate("""() => [...document.querySelectorAll('.inline-group')].map(group => {
            const row = group.querySelector('tr.has_original');
            const [date, time] = ['.vDateField', '.vTimeField'].map(s => row.querySelector(s).getBoundingClientRect());
            return {id: group.id, over: group.scrollWidth - group.clientWidth, dateTimeRise: time.top - date.top,
                    contactWidth: row.querySelector('td.field-contact .select2-container').getBoundingClientRect().width};
        })""")
        assert [group["id"] for group in groups] == ["attendances-group", "interactions-group"], language
        assert [group["over"] for group in groups] == [0, 0], (language, groups)
        assert [group["dateTimeRise"] for group in groups] == [0, 0], (language, groups)  # one line
        assert all(group["contactWidth"] >= 190 for group in groups), (language, groups)  # a name and more


def test_a_name_of_one_long_word_wraps_on_its_change_and_delete_pages(page, login, django_user_model):
    """A long name without a space (a paste gone wrong) wraps: no page wider than the screen."""
    from django.utils import timezone

    from contacts.models import Contact
    from events.models import Event

    superuser = django_user_model.objects.create_superuser("root", "root@agency.example", PERSONA_PASSWORD)
    word = "Kundenbindungsveranstaltung" * 7  # 189 letters: as long as an event's name may be
    event = Event.objects.create(name=word, starts_at=timezone.now(), ends_at=timezone.now())
    contact = Contact.objects.create(email=f"{word[:60]}@example.com", first_name=word[:100], last_name=word[:100])
    page.set_viewport_size({"width": 1366, "height": 800})
    login(superuser)

    too_wide = []
    for name, pk in (("events_event", event.pk), ("contacts_contact", contact.pk)):
        for view in ("change", "delete"):
            page.goto(page.base_url + reverse(f"admin:{name}_{view}", args=[pk]))
            extra = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if extra > 0:
                too_wide.append(f"{name} {view}: +{extra} px")
    assert too_wide == []
