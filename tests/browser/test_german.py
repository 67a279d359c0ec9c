"""In German, the pages staff use every day show no English and no English-formatted number.

Rendered in Chromium with the demo agency's data. User data (names, event titles, notes,
which the demo writes in English) is taken out of the page text first; what is left must
contain no English message of the catalogs (the project's and Django's), no English function
words and no number written the English way (26.5 for 26,5)."""

import gettext
import re
from pathlib import Path

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.db.models import Count
from django.urls import reverse

from tests.conftest import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ENGLISH_WORDS = re.compile(r"\b(the|and|with|your|this|has|have|were|of|for|from|selected)\b", re.IGNORECASE)
# German writes 26,5 and 60.000,00; dates (02.12.2026) and times (14:30) are taken out first.
DATES_AND_TIMES = re.compile(r"\b\d{1,2}\.\d{1,2}\.(\d{2,4})?|\b\d{1,2}:\d{2}\b")
ENGLISH_DECIMAL = re.compile(r"(?<![\d.,])\d{1,3}(,\d{3})*\.\d{1,2}(?![\d.])")
USER_DATA_APPS = ("contacts", "events", "scoring", "partners", "axes")  # axes: browsers' user agents


def english_messages() -> set[str]:
    """Messages of at least two words that German writes differently: the project's and the admin's."""
    catalogs = [Path(settings.BASE_DIR) / "locale", Path(django.__file__).parent / "contrib" / "admin" / "locale",
                Path(django.__file__).parent / "conf" / "locale"]
    found = set()
    for folder in catalogs:
        with (folder / "de" / "LC_MESSAGES" / "django.mo").open("rb") as mo_file:
            catalog = gettext.GNUTranslations(mo_file)._catalog
        for key, german in catalog.items():
            english = key[0] if isinstance(key, tuple) else key
            english = english.split("\x04")[-1]
            if len(english.split()) >= 2 and "%" not in english and "{" not in english and english != german:
                found.add(english)
    return found


def user_data() -> list[str]:
    """Every text value people or the demo typed in, longest first (so parts go after wholes)."""
    values = set()
    for model in apps.get_models():
        if model._meta.app_label not in USER_DATA_APPS:
            continue
        text_fields = [f.name for f in model._meta.concrete_fields
                       if isinstance(f, models.CharField | models.TextField) and not f.choices]
        if text_fields:
            for row in model._default_manager.values_list(*text_fields):
                values.update(str(value) for value in row if value and len(str(value)) > 1)
    for user in apps.get_model("auth", "User").objects.all():
        values.update({user.get_full_name(), user.get_username()} - {""})
    return sorted(values, key=len, reverse=True)


def page_text(page) -> str:
    """What the reader sees, SVG chart labels included."""
    return page.evaluate("""() => document.body.innerText + '\\n' +
        Array.from(document.querySelectorAll('svg text, svg title')).map(node => node.textContent).join('\\n')""")


TRUNCATED = re.compile(r"[^\n:·]{1,80}…")  # a name cut short to fit its cell or chart label


def without(text: str, data: list[str]) -> str:
    for value in data:
        text = text.replace(value, " ")
    return TRUNCATED.sub(" ", text)


def test_the_daily_pages_are_german_throughout(page, login, django_user_model, tmp_path):
    from contacts.models import Contact
    from events.choices import EventStatus
    from events.models import Event

    superuser = django_user_model.objects.create_superuser(
        "root", "root@agency.example", PERSONA_PASSWORD, first_name="Rita", last_name="Root")
    call_command("seed_demo", "--contacts", "40", "--today", "2026-03-31", stdout=open(tmp_path / "seed.log", "w"))
    busiest = Contact.objects.annotate(rows=Count("attendances", distinct=True) + Count("followups", distinct=True)
                                       ).order_by("-rows").first()
    event = Event.objects.filter(status=EventStatus.COMPLETED, metrics__isnull=False).order_by("-starts_at").first()
    messages = english_messages()
    login(superuser)
    page.goto(page.base_url + reverse("admin:index"))
    page.select_option("#ror-language-form select", "de")
    page.click("#ror-language-form button")
    page.wait_for_selector("html[lang=de]")
    data = user_data()  # after the login: its access log entry (the browser's user agent) is data too
    page.goto(page.base_url + reverse("admin:index"))
    # The index's RoR links keep to one line beside their longer German descriptions.
    assert page.eval_on_selector_all("#ror-index-links th a", "links => links.map(a => a.getClientRects().length)") == [1, 1, 1]

    urls = [
        reverse("admin:index"), reverse("ror-dashboard"), reverse("ror-worklist"), f"{reverse('ror-worklist')}?owner=team",
        *(f"{reverse('ror-worklist')}?owner=team&view={view}" for view in ("follow_ups", "losing_touch", "missed")),
        reverse("ror-next-action-rules"),
        reverse("admin:contacts_contact_change", args=[busiest.pk]),
        reverse("admin:events_event_change", args=[event.pk]),
        *(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry),
    ]
    english, numbers = [], []
    for url in urls:
        page.goto(page.base_url + url)
        assert page.locator("html").get_attribute("lang") == "de", url
        text = without(page_text(page), data)
        english += [f"{url}: {message!r}" for message in messages if re.search(rf"\b{re.escape(message)}\b", text)]
        english += [f"{url}: {match.group(0)!r} in …{text[max(match.start() - 40, 0):match.end() + 40]!r}…"
                    for match in ENGLISH_WORDS.finditer(text)]
        numbers += [f"{url}: {match.group(0)!r} in …{text[max(match.start() - 30, 0):match.end() + 30]!r}…"
                    for match in ENGLISH_DECIMAL.finditer(DATES_AND_TIMES.sub(" ", text))]
    assert english == [], "\n".join(english)
    assert numbers == [], "\n".join(numbers)


def test_the_checks_find_english():
    """The test above can fail: an English message and an English number are found."""
    assert "Save and continue editing" in english_messages()
    sample = "Speichern  Score 26.5 von 30 Pkt. am 02.12.2026 um 14:30, Umsatz 334,500.00 EUR"
    assert [m.group(0) for m in ENGLISH_DECIMAL.finditer(DATES_AND_TIMES.sub(" ", sample))] == ["26.5", "334,500.00"]
    assert [m.group(0) for m in ENGLISH_DECIMAL.finditer(DATES_AND_TIMES.sub(" ", "26,5 und 60.000,00 EUR"))] == []
    assert ENGLISH_WORDS.search("Scores of the contacts")
