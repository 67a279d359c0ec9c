"""Forms of the sales worklist (log a follow-up, mark one done) and of the contact list's bulk actions."""

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts import services
from contacts.choices import DealStatus, FollowUpChannel, FollowUpOutcome, FollowUpStatus
from contacts.models import Contact, FollowUp
from events.choices import EventStatus
from events.models import Event
from ror_crm.admin_tools import LocalizedDecimalField
from ror_crm.validators import FREE_TEXT_MAX_LENGTH, parse_id, validate_not_future

PLANNED_IN_THE_PAST = _("A follow-up cannot be planned in the past.")
FOLLOW_UP_DUE_TIME = time(9, 0)  # a planned date becomes due at the start of that working day
RECENT_EVENTS = 30  # choices offered for "origin event"; older events are rarely followed up


class TagsField(forms.CharField):
    """Tags as "vip, berlin, press" in the form, a list of strings in the model."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        return list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))

    def has_changed(self, initial, data):
        return list(initial or []) != self.to_python(data)


FOLLOW_UP_GONE = _(
    "This planned follow-up is no longer yours to complete: it was done, cancelled or handed over meanwhile. "
    "Save again to log this conversation as a new follow-up."
)


class FollowUpLogForm(forms.Form):
    """A conversation that happened (a done follow-up), optionally planning the next one.

    Opened from a planned follow-up of the worklist, `follow_up` names it: saving then
    completes that follow-up instead of adding a second one.
    """

    follow_up = forms.ModelChoiceField(queryset=FollowUp.objects.none(), required=False, widget=forms.HiddenInput)
    contact = forms.ModelChoiceField(label=_("contact"), queryset=Contact.objects.not_erased())
    event = forms.ModelChoiceField(
        label=_("origin event"), queryset=Event.objects.filter(status=EventStatus.COMPLETED), required=False,
        help_text=_("The event this conversation follows up, if any; it counts for the event's follow-up coverage."),
    )
    channel = forms.ChoiceField(label=_("channel"), choices=FollowUpChannel.choices, initial=FollowUpChannel.PHONE)
    completed_at = forms.DateTimeField(
        label=_("happened at"), required=False, validators=[validate_not_future],
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
        help_text=_("When the conversation took place, if not just now: it counts for the 48-hour follow-up figures."),
    )
    # Nothing chosen for the user: a preselected "positive" would be recorded when left alone.
    outcome = forms.ChoiceField(label=_("outcome"), choices=[("", "—"), *FollowUpOutcome.choices], required=False)
    summary = forms.CharField(label=_("summary"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False,
                              max_length=FREE_TEXT_MAX_LENGTH)
    next_step = forms.CharField(label=_("next step"), widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False,
                                max_length=FREE_TEXT_MAX_LENGTH)
    deal_value = LocalizedDecimalField(label=_("deal value"), max_digits=14, decimal_places=2, min_value=0,
                                       required=False, localize=True)  # as the admin's: "1.234,56" in German
    deal_status = forms.ChoiceField(label=_("deal status"), choices=DealStatus.choices, initial=DealStatus.NONE)
    next_due_on = forms.DateField(
        label=_("plan next follow-up on"), required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),  # ISO, whatever the language
        help_text=_("Adds a planned follow-up with the next step, owned by you."),
    )
    # A checkbox only once the next follow-up was refused for contact fatigue (offer_plan_anyway()).
    plan_anyway = forms.BooleanField(
        label=_("Plan anyway"), required=False, widget=forms.HiddenInput,
        help_text=_("Plan the next follow-up although the contact reached the contact-fatigue cap."),
    )

    def __init__(self, *args, user, contact: Contact | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["follow_up"].queryset = FollowUp.objects.filter(owner=user, status=FollowUpStatus.PLANNED)
        self._set_contact_widget(user, contact)
        self._limit_event_choices(contact)
        if self.is_bound and self.fields["plan_anyway"].clean(self.data.get("plan_anyway")):
            self.offer_plan_anyway()

    def full_clean(self):
        super().full_clean()
        if self.is_bound and "follow_up" in self._errors:
            # The planned follow-up was completed, cancelled or handed over meanwhile (another tab,
            # a colleague): say so where it shows, and let the next save log a new follow-up.
            del self._errors["follow_up"]
            self.add_error(None, FOLLOW_UP_GONE)
            self.data = self.data.copy()
            self.data["follow_up"] = ""

    def offer_plan_anyway(self) -> None:
        """Show "Plan anyway": planning the next follow-up was refused for contact fatigue."""
        self.fields["plan_anyway"].widget = forms.CheckboxInput()

    def _set_contact_widget(self, user, contact: Contact | None) -> None:
        field = self.fields["contact"]
        contact_admin = admin.site._registry.get(Contact)
        if contact_admin is not None and contact_admin.search_fields:
            # Search all contacts as in the admin (select2 autocomplete, the admin's own JS).
            field.widget = AutocompleteSelect(FollowUp._meta.get_field("contact"), admin.site)
            field.widget.choices = field.choices
            field.widget.is_required = field.required
            return
        # Without a searchable contact admin: the user's own contacts, plus the one given.
        owned = list(Contact.objects.not_erased().filter(owner=user).order_by("last_name", "first_name", "pk")[:500])
        if contact is not None and contact not in owned:
            owned.insert(0, contact)
        field.widget.choices = [("", "---------"), *((c.pk, str(c)) for c in owned)]

    def _limit_event_choices(self, contact: Contact | None) -> None:
        """Offer recent completed events: the contact's own when the contact is known."""
        recent = Event.objects.filter(status=EventStatus.COMPLETED, ends_at__gte=timezone.now() - timedelta(days=365))
        if contact is not None:
            recent = recent.filter(attendances__contact=contact)
        events = list(recent.order_by("-starts_at", "-pk")[:RECENT_EVENTS])
        # The event already chosen (by the planned follow-up, or in the posted form) stays
        # selectable even when it is older than the recent ones.
        chosen = self.data.get("event") if self.is_bound else getattr(self.initial.get("event"), "pk", None)
        chosen_id = parse_id(chosen)
        if chosen_id is not None and chosen_id not in {event.pk for event in events}:
            events[:0] = Event.objects.filter(pk=chosen_id, status=EventStatus.COMPLETED)
        self.fields["event"].widget.choices = [("", "---------"), *((e.pk, str(e)) for e in events)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        follow_up, contact = cleaned.get("follow_up"), cleaned.get("contact")
        if follow_up is not None and contact is not None and follow_up.contact_id != contact.pk:
            self.add_error("contact", _("This is not the contact of the planned follow-up."))
        if cleaned.get("deal_status") in (DealStatus.OPEN, DealStatus.WON) and cleaned.get("deal_value") is None \
                and "deal_value" not in self.errors:  # a value given, and refused: that error says it
            self.add_error("deal_value", _("Give the value of an open or won deal."))
        if cleaned.get("deal_status") == DealStatus.NONE and cleaned.get("deal_value") is not None:
            self.add_error("deal_status", services.DEAL_VALUE_NEEDS_STATUS)
        next_due_on = cleaned.get("next_due_on")
        if next_due_on is not None and next_due_on < timezone.localdate():
            self.add_error("next_due_on", _("The next follow-up cannot be planned in the past."))
        elif next_due_on is not None and contact is not None and contact.do_not_contact:
            self.add_error("next_due_on", services.DO_NOT_CONTACT_PLANNING)
        return cleaned

    def next_due_at(self) -> datetime | None:
        """When the next follow-up asked for is due: the start of that working day."""
        next_due_on = self.cleaned_data["next_due_on"]
        return None if next_due_on is None else timezone.make_aware(datetime.combine(next_due_on, FOLLOW_UP_DUE_TIME))

    def follow_up_fields(self) -> dict[str, Any]:
        """The service arguments of the conversation itself."""
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "completed_at": data["completed_at"] or timezone.now(),
            "outcome": data["outcome"],
            "summary": data["summary"],
            "next_step": data["next_step"],
            "deal_value": data["deal_value"],
            "deal_status": data["deal_status"],
        }


class FollowUpDoneForm(forms.Form):
    """The one-click "done" of a planned follow-up; the outcome is optional."""

    outcome = forms.ChoiceField(label=_("outcome"), choices=[("", "—"), *FollowUpOutcome.choices], required=False)


# The contact list's bulk actions: what to apply to the selected contacts. ---------------------


def _owner_field(label, help_text) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(
        label=label, queryset=get_user_model().objects.filter(is_active=True, is_staff=True), required=False,
        help_text=help_text,
    )
    field.widget = AutocompleteSelect(Contact._meta.get_field("owner"), admin.site)
    field.widget.choices = field.choices
    return field


class AssignOwnerForm(forms.Form):
    """An owner for the selection, or (said explicitly: an empty form is no answer) none."""

    owner = None  # set in __init__: the autocomplete needs the registered admin site
    remove = forms.BooleanField(label=_("remove the owner instead"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field(_("owner"), "")
        self.order_fields(["owner", "remove"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "owner" in cleaned and bool(cleaned["owner"]) == bool(cleaned.get("remove")):
            raise forms.ValidationError(_("Choose an owner, or tick “remove the owner instead”."))
        return cleaned


class ChangeTagsForm(forms.Form):
    add = TagsField(label=_("add tags"), required=False, help_text=_("Comma-separated."))
    remove = TagsField(label=_("remove tags"), required=False, help_text=_("Comma-separated."))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("add") and not cleaned.get("remove"):
            raise forms.ValidationError(_("Name at least one tag to add or remove."))
        both = set(cleaned.get("add") or ()) & set(cleaned.get("remove") or ())
        if both:
            raise forms.ValidationError(_("A tag cannot be added and removed at once: %(tags)s") % {
                "tags": ", ".join(sorted(both))})
        for name in ("add", "remove"):
            try:
                cleaned[name] = services.clean_tags(cleaned.get(name) or [])
            except ValidationError as exc:
                self.add_error(name, exc)
        return cleaned


class PlanFollowUpsForm(forms.Form):
    due_on = forms.DateField(
        label=_("due on"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("Due at 9:00 that day."),
    )
    channel = forms.ChoiceField(label=_("channel"), choices=FollowUpChannel.choices, initial=FollowUpChannel.EMAIL)
    summary = forms.CharField(
        label=_("what about"), widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False,
        max_length=FREE_TEXT_MAX_LENGTH, help_text=_("Shown to the owner in their worklist."),
    )
    event = forms.ModelChoiceField(label=_("origin event"), queryset=Event.objects.all(), required=False)
    skip_planned = forms.BooleanField(
        label=_("skip contacts who already have a planned follow-up"), required=False, initial=True,
    )
    override_fatigue = forms.BooleanField(
        label=_("plan anyway for contacts at the contact-fatigue cap"), required=False, initial=False,
        help_text=_("Otherwise contacts the agency already reached out to often enough lately are left out."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field(
            _("owner"), _("Leave empty to give each follow-up to the contact's owner (or to you, if none)."))
        self.order_fields(["due_on", "owner"])
        recent = Event.objects.filter(starts_at__gte=timezone.now() - timedelta(days=365)).order_by("-starts_at", "-pk")
        self.fields["event"].queryset = recent
        self.fields["event"].widget.choices = [("", "---------"), *((e.pk, str(e)) for e in recent[:RECENT_EVENTS])]

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError(PLANNED_IN_THE_PAST)
        return due_on

    def due_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.cleaned_data["due_on"], FOLLOW_UP_DUE_TIME))
