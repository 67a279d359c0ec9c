"""The German catalog: complete, compiled, and what the admin shows after the language switch.

The compiled .mo file is committed (machines may lack gettext); these tests fail when a
string was added to the .po without a translation, or the .mo was not compiled again.
"""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

CATALOG = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES"
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unescape(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (str or list), flags."""
    entries, entry, field = [], {"flags": set()}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if "msgid" in entry:
                entries.append(entry)
            entry, field = {"flags": set()}, None
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[field] += _unescape(STRING.match(line).group(1))
        else:
            keyword, _, rest = line.partition(" ")
            field = keyword
            entry[field] = _unescape(STRING.match(rest).group(1))
    return [e for e in entries if e["msgid"]]  # the header has an empty msgid


def translations(entry: dict) -> list[str]:
    return [value for key, value in sorted(entry.items()) if key.startswith("msgstr")]


def test_every_message_is_translated():
    entries = read_po(CATALOG / "django.po")
    assert len(entries) > 300
    untranslated = [e["msgid"] for e in entries if not all(translations(e))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_the_compiled_catalog_matches_the_po_file():
    with (CATALOG / "django.mo").open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)
    for entry in read_po(CATALOG / "django.po"):
        key = f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]
        if "msgid_plural" in entry:
            assert [compiled._catalog.get((key, index)) for index in range(2)] == translations(entry), entry["msgid"]
        else:
            assert compiled._catalog.get(key) == entry["msgstr"], entry["msgid"]


def test_model_names_and_choices_are_german():
    from contacts.models import Contact
    from scoring.choices import LifecycleStage

    with translation.override("de"):
        assert str(Contact._meta.verbose_name_plural) == "Kontakte"
        assert str(LifecycleStage.INITIATION.label) == "Anbahnung"


@pytest.mark.django_db
def test_the_language_switch_turns_the_admin_german(client, sales_user):
    client.force_login(sales_user)
    assert 'id="ror-language-form"' in client.get(reverse("admin:index")).content.decode()

    response = client.post(reverse("set_language"), {"language": "de", "next": reverse("ror-worklist")})
    assert response["Location"] == reverse("ror-worklist")

    page = client.get(reverse("ror-worklist"), {"view": "follow_ups"}).content.decode()
    assert '<html lang="de"' in page
    assert "Meine Follow-ups" in page
    assert "Überfällig" in page


@pytest.mark.django_db
def test_a_contacts_history_page_is_german(admin_client):
    from contacts.models import Contact

    contact = Contact.objects.create(email="anna@client.example", first_name="Anna")
    admin_client.cookies["django_language"] = "de"

    page = admin_client.get(reverse("admin:contacts_contact_history", args=[contact.pk])).content.decode()

    assert "Änderungshistorie: Anna" in page
    assert ">Änderungen<" in page
    assert "View history" not in page


@pytest.mark.django_db
def test_the_projects_words_leave_djangos_own_admin_words_as_they_are(admin_client):
    """The what-if table's “Change” (Änderung) has a context of its own: Django's “Change” links
    stay “Ändern”, and its save buttons “Sichern”, on every page."""
    admin_client.cookies["django_language"] = "de"

    index = admin_client.get(reverse("admin:index")).content.decode()
    form = admin_client.get(reverse("admin:events_eventseries_add")).content.decode()

    assert ">Ändern<" in index
    assert ">Änderung<" not in index
    assert 'value="Sichern"' in form
    with translation.override("de"):
        assert translation.pgettext("how much a figure moves", "Change") == "Änderung"
