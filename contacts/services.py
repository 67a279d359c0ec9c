"""Every write to contacts, organizations, follow-ups and referrals (API, admin, imports)."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from contacts.choices import DealStatus, FollowUpStatus
from contacts.erasure import ERASED_REPRESENTATION, PersonalMentions, contact_erased, scrub_text_fields
from contacts.exceptions import DuplicateContact, DuplicateOrganization
from contacts.fatigue import check_fatigue, fatigued_contact_ids
from contacts.models import (
    TAG_MAX_LENGTH,
    TAGS_MAX,
    Contact,
    FollowUp,
    Organization,
    Referral,
    ensure_writable,
    normalize_email,
    organization_key,
)
from contacts.referral_links import link_referral, link_referrals
from events.choices import EventStatus
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from events.services import existing_event, notify_late_data
from ror_crm.bulk import bulk_update_rows
from ror_crm.db import locked, save_unique

BULK_BATCH_SIZE = 500  # rows per statement of a bulk change

# What GDPR erasure blanks on the contact itself; the row and its foreign keys stay.
ERASED_CONTACT_VALUES = {
    "email": None,
    "first_name": "",
    "last_name": "",
    "job_title": "",
    "phone": "",
    "tags": [],
    "marketing_consent": False,
    "marketing_consent_at": None,
    "marketing_consent_source": "",
    "do_not_contact": True,
}


def get_or_create_organization(name: str | None) -> Organization | None:
    """Organizations are matched by name, case-insensitively (DOMAIN.md)."""
    name = (name or "").strip()
    if not name:
        return None
    existing = Organization.objects.filter(name_key=organization_key(name)).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Organization.objects.create(name=name)
    except IntegrityError:  # created concurrently
        return Organization.objects.get(name_key=organization_key(name))


def _raise_if_email_taken(email: str | None, *, exclude_pk: int | None = None) -> None:
    if not email:
        return
    duplicate = Contact.objects.with_emails([email]).exclude(pk=exclude_pk).values_list("pk", flat=True).first()
    if duplicate is not None:
        raise DuplicateContact("A contact with this e-mail already exists.", existing_id=duplicate)


def _apply_consent(contact: Contact, fields: dict[str, Any], *, was_consenting: bool) -> None:
    """Record when consent was given, unless the caller says when (DOMAIN.md: consent + when + source)."""
    if contact.marketing_consent and not was_consenting and "marketing_consent_at" not in fields:
        contact.marketing_consent_at = timezone.now()
    if not contact.marketing_consent:
        contact.marketing_consent_at = None


@transaction.atomic
def create_contact(**fields: Any) -> Contact:
    fields["email"] = normalize_email(fields.get("email"))
    contact = Contact(**fields)
    _apply_consent(contact, fields, was_consenting=False)
    save_unique(contact, recheck=lambda: _raise_if_email_taken(contact.email))
    link_referrals([contact.pk])  # referrals naming this e-mail (contacts.referral_links)
    return contact


# The contact's own fields its cadence and next best action read (scoring.services.next_action).
NEXT_ACTION_FIELDS = ("tags", "organization_id", "cadence_days", "do_not_contact", "marketing_consent")


@transaction.atomic
def update_contact(contact: Contact, **fields: Any) -> Contact:
    contact = locked(contact)
    ensure_writable(contact)
    if "email" in fields:
        fields["email"] = normalize_email(fields["email"])
    was_consenting, email_before = contact.marketing_consent, contact.email
    before = [getattr(contact, name) for name in NEXT_ACTION_FIELDS]
    for name, value in fields.items():
        setattr(contact, name, value)
    _apply_consent(contact, fields, was_consenting=was_consenting)
    save_unique(contact, recheck=lambda: _raise_if_email_taken(contact.email, exclude_pk=contact.pk))
    if contact.email != email_before:
        link_referrals([contact.pk])  # referrals naming the new e-mail (contacts.referral_links)
    if before != [getattr(contact, name) for name in NEXT_ACTION_FIELDS]:
        rescore_contacts([contact.pk])
    return contact


@transaction.atomic
def erase_contact(contact: Contact) -> Contact:
    """GDPR erasure: personal data goes, the row and its relations stay for aggregates.

    No copy is left: free text of the contact's own rows (notes, summaries, comments), the
    change history, which holds old values, the admin log's mentions, their e-mail and full
    name in other rows' free text and history (contacts.erasure), and, by `contact_erased`,
    the partner API's stored idempotent responses and webhook payloads (partners.erasure).
    A fixed number of queries, whatever the number of rows.
    """
    erased_at = Contact.objects.select_for_update().values_list("erased_at", flat=True).get(pk=contact.pk)
    if erased_at is not None:
        contact.refresh_from_db()
        return contact
    contact.refresh_from_db()
    mentions = PersonalMentions(contact_id=contact.pk, email=contact.email, first_name=contact.first_name,
                                last_name=contact.last_name)
    _scrub_admin_log(contact, replacement=f"Erased contact #{contact.pk}")
    Contact.objects.filter(pk=contact.pk).update(**ERASED_CONTACT_VALUES, erased_at=timezone.now(), updated_at=timezone.now())
    # Nobody is to contact them again: planned follow-ups are cancelled (they would stay on a
    # rep's worklist as "Erased contact #…").
    contact.followups.filter(status=FollowUpStatus.PLANNED).update(status=FollowUpStatus.CANCELLED)
    contact.followups.update(summary="", next_step="", updated_at=timezone.now())
    contact.interactions.update(notes="", updated_at=timezone.now())
    contact.counterpart_interactions.update(notes="", updated_at=timezone.now())
    contact.feedback.update(comment="", updated_at=timezone.now())
    contact.referrals_received.update(referred_email="", updated_at=timezone.now())
    Referral.objects.filter(referred_email__iexact=contact.email or "").update(referred_email="", updated_at=timezone.now())
    contact.history.all().delete()
    FollowUp.history.filter(contact_id=contact.pk).delete()
    for model, fields in ((Interaction, ["notes"]), (FollowUp, ["summary", "next_step"]),
                          (FollowUp.history.model, ["summary", "next_step"]), (Feedback, ["comment"]),
                          (EventSeries, ["description"])):
        scrub_text_fields(model, fields, mentions)
    contact_erased.send(sender=Contact, mentions=mentions)
    rescore_contacts([contact.pk])  # no more actions, no next touch
    contact.refresh_from_db()
    return contact


def _scrub_admin_log(contact: Contact, *, replacement: str) -> None:
    """The admin's action log names the contact and every row about it by str() (e.g. "Call
    follow-up with Anna Müller <anna@…>"), in its text and in its JSON change messages."""
    names = {str(contact), contact.email} - {None, ""}
    # Longest first: str(contact) contains the e-mail. JSON escapes non-ASCII characters.
    variants = sorted({form for name in names for form in (name, json.dumps(name)[1:-1])}, key=len, reverse=True)
    mentions = Q()
    for variant in variants:
        mentions |= Q(object_repr__contains=variant) | Q(change_message__contains=variant)
    entries = list(LogEntry.objects.filter(mentions))
    for entry in entries:
        for variant in variants:
            entry.object_repr = entry.object_repr.replace(variant, replacement)
            entry.change_message = entry.change_message.replace(variant, replacement)
    bulk_update_rows(LogEntry, entries, ["object_repr", "change_message"])


def export_contact(contact: Contact) -> dict[str, Any]:
    """Everything held about a contact (GDPR access), as JSON-ready data."""
    contact = Contact.objects.select_related("organization", "owner").get(pk=contact.pk)
    data = {
        "contact": {
            "id": contact.pk,
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "organization": contact.organization.name if contact.organization else None,
            "job_title": contact.job_title,
            "phone": contact.phone,
            "owner": contact.owner.get_username() if contact.owner else None,
            "tags": contact.tags,
            "marketing_consent": contact.marketing_consent,
            "marketing_consent_at": contact.marketing_consent_at,
            "marketing_consent_source": contact.marketing_consent_source,
            "do_not_contact": contact.do_not_contact,
            "cadence_days": contact.cadence_days,
            "erased_at": contact.erased_at,
            "created_at": contact.created_at,
            "updated_at": contact.updated_at,
        },
        "attendances": list(
            contact.attendances.order_by("event__starts_at").values(
                "id", "event_id", "event__name", "role", "status", "registered_at", "checked_in_at", "source", "external_id"
            )
        ),
        "interactions": list(
            contact.interactions.values(
                "id", "event_id", "counterpart_id", "kind", "occurred_at", "duration_minutes", "quality", "notes"
            )
        )
        + list(
            contact.counterpart_interactions.values(
                "id", "event_id", "contact_id", "kind", "occurred_at", "duration_minutes", "quality", "notes"
            )
        ),
        "follow_ups": list(
            contact.followups.values(
                "id", "event_id", "channel", "status", "due_at", "completed_at", "outcome",
                "summary", "next_step", "deal_value", "deal_status",
            )
        ),
        "feedback": list(contact.feedback.values("id", "event_id", "nps", "satisfaction", "comment", "submitted_at")),
        "referrals_made": list(contact.referrals_made.values("id", "referred_id", "referred_email", "event_id", "created_at")),
        "referrals_received": list(contact.referrals_received.values("id", "referrer_id", "event_id", "created_at")),
        "score": None,
        "score_history": list(contact.score_snapshots.order_by("computed_at", "pk").values(
            "score", "previous_score", "components", "stage", "computed_at", "trigger", "trigger_event_id",
        )),
        "lifetime_value": None,
    }
    if contact.is_erased:
        data["contact"].update(ERASED_REPRESENTATION)  # as the API shows an erased contact: null
    score = getattr(contact, "score", None) if hasattr(contact, "score") else None
    if score is not None:
        # Every figure stored about the contact: the score, its components and the inputs it
        # keeps, the cadence and the next best action with its reason.
        data["score"] = {
            field.name: getattr(score, field.attname) for field in type(score)._meta.concrete_fields
            if field.name not in ("contact", "profile_version", "updated_at")
        }
        lifetime_value = getattr(score, "lifetime_value", None) if hasattr(score, "lifetime_value") else None
        if lifetime_value is not None:
            data["lifetime_value"] = {
                "clv": lifetime_value.clv, "clv_currency": lifetime_value.clv_currency,
                "expected_attendances": lifetime_value.expected_attendances, "as_of": lifetime_value.as_of,
            }
    return json.loads(json.dumps(data, cls=LocalMomentEncoder))


class LocalMomentEncoder(DjangoJSONEncoder):
    """Moments as the API writes them: in the site's time zone with its offset, to the microsecond
    (DjangoJSONEncoder writes UTC to the millisecond)."""

    def default(self, o):
        if isinstance(o, datetime):
            return timezone.localtime(o).isoformat()
        return super().default(o)


DONE_KEEPS_ITS_TIME = gettext_lazy(
    "A done follow-up keeps the time it was done: give a time, or make it planned or cancelled.")


def _apply_follow_up_status(follow_up: FollowUp, fields: dict[str, Any], *, done_at_before: datetime | None = None) -> None:
    """done ⇔ completed_at: a follow-up done without a time was done now; others have none. The
    time of one done before is not cleared (now would stand for the day it was done)."""
    if follow_up.status == FollowUpStatus.DONE:
        if follow_up.completed_at is None and done_at_before is not None:
            raise ValidationError({"completed_at": DONE_KEEPS_ITS_TIME})
        if follow_up.completed_at is None:
            follow_up.completed_at = timezone.now()
    elif "completed_at" not in fields or fields["completed_at"] is None:
        follow_up.completed_at = None


DEAL_VALUE_NEEDS_STATUS = gettext_lazy("A deal value needs the deal's status: open, won or lost.")
NO_DEAL = (DealStatus.NONE, None)


def _apply_deal(follow_up: FollowUp, fields: dict[str, Any], before: tuple[str, Any] = NO_DEAL) -> None:
    """A value given to a follow-up with no deal, its status not given, makes it an open deal;
    a value with "no deal" said in the same write is refused, as it would count nowhere (pipeline
    and won value read open and won deals). Rows stored so earlier keep taking other changes."""
    if "deal_value" in fields and "deal_status" not in fields and follow_up.deal_value is not None \
            and follow_up.deal_status == DealStatus.NONE:
        follow_up.deal_status = DealStatus.OPEN
    now = (follow_up.deal_status, follow_up.deal_value)
    if follow_up.deal_value is not None and follow_up.deal_status == DealStatus.NONE and now != before:
        raise ValidationError({"deal_status": DEAL_VALUE_NEEDS_STATUS})


@transaction.atomic
def log_follow_up(
    *, contact: Contact, event: Event | None, owner, planned: FollowUp | None, next_due_at: datetime | None,
    plan_anyway: bool = False, channel: str, next_step: str = "", **fields: Any,
) -> FollowUp:
    """A sales rep logs a conversation (the worklist's "Log follow-up"): it completes their
    `planned` follow-up with the contact when there is one (taking its channel and event), else it
    is a new done follow-up; with `next_due_at` the next one is planned, carrying `next_step`.
    Both or neither; planning the next one is refused for a fatigued contact unless
    `plan_anyway` (contacts.fatigue)."""
    if planned is not None:
        if planned.channel != channel or planned.event != event:
            planned = update_follow_up(planned, channel=channel, event=event)
        follow_up = mark_follow_up_done(planned, next_step=next_step, **fields)
    else:
        follow_up = create_follow_up(contact=contact, event=event, owner=owner, status=FollowUpStatus.DONE,
                                     channel=channel, next_step=next_step, **fields)
    if next_due_at is not None:
        create_follow_up(contact=contact, event=event, owner=owner, channel=channel, status=FollowUpStatus.PLANNED,
                         next_step=next_step, due_at=next_due_at, override=plan_anyway)
    return follow_up


def _rescore_after_follow_up(event: Event | None, contact_id: int) -> None:
    """A follow-up of a completed event is late data for it; one of an event that has ended but is
    not completed waits for its completion, as every touch at that event does (docs/scoring.md).
    One of no event, of an event still ahead or of a cancelled one moves its contact's dialogue
    and last touch (done) or next action (planned: call now, follow up, rest): rescored now, not only at
    night."""
    if event is not None and event.status != EventStatus.CANCELLED:
        notify_late_data(event, [contact_id])
    else:
        rescore_contacts([contact_id])


def rescore_contacts(contact_ids: Sequence[int]) -> None:
    """Recompute these contacts' scores, cadences and next actions after commit (late data)."""
    if not contact_ids:
        return
    from scoring import triggers  # scoring depends on contacts, not the other way round
    from scoring.choices import ScoreTrigger

    triggers.schedule_contacts_recompute(contact_ids, trigger=ScoreTrigger.LATE_DATA)


@transaction.atomic
def create_follow_up(*, override: bool = False, **fields: Any) -> FollowUp:
    """A follow-up; planning one for a fatigued contact needs `override` (contacts.fatigue).
    A done one, a conversation that happened, is never refused for fatigue (its time must still be
    at or after its event's start: FollowUp.clean())."""
    ensure_writable(fields.get("contact"))
    follow_up = FollowUp(**fields)
    _apply_follow_up_status(follow_up, fields)
    _apply_deal(follow_up, fields)
    follow_up.full_clean()
    if follow_up.status == FollowUpStatus.PLANNED:
        check_fatigue(follow_up.contact_id, override=override)
    follow_up.save()
    _rescore_after_follow_up(follow_up.event, follow_up.contact_id)
    return follow_up


@transaction.atomic
def update_follow_up(follow_up: FollowUp, *, override: bool = False, **fields: Any) -> FollowUp:
    """Change a follow-up; making it planned (again, or for another contact) for a fatigued
    contact needs `override` (contacts.fatigue)."""
    follow_up = locked(follow_up)
    ensure_writable(follow_up.contact_id, fields.get("contact"))
    old_event, old_contact_id = follow_up.event, follow_up.contact_id
    was_planned = follow_up.status == FollowUpStatus.PLANNED
    deal_before = (follow_up.deal_status, follow_up.deal_value)
    done_at_before = follow_up.completed_at if follow_up.status == FollowUpStatus.DONE else None
    for name, value in fields.items():
        setattr(follow_up, name, value)
    _apply_follow_up_status(follow_up, fields, done_at_before=done_at_before)
    _apply_deal(follow_up, fields, deal_before)
    follow_up.full_clean()
    if follow_up.status == FollowUpStatus.PLANNED and not (was_planned and follow_up.contact_id == old_contact_id):
        check_fatigue(follow_up.contact_id, override=override)
    follow_up.save()
    _rescore_after_follow_up(follow_up.event, follow_up.contact_id)
    if old_event != follow_up.event or old_contact_id != follow_up.contact_id:
        _rescore_after_follow_up(old_event, old_contact_id)
    return follow_up


def mark_follow_up_done(
    follow_up: FollowUp,
    *,
    outcome: str | None = None,
    summary: str | None = None,
    next_step: str | None = None,
    deal_value=None,
    deal_status: str | None = None,
    completed_at=None,
) -> FollowUp:
    """The sales worklist's one click: the conversation happened, with what result."""
    fields: dict[str, Any] = {"status": FollowUpStatus.DONE, "completed_at": completed_at or timezone.now()}
    optional = {"outcome": outcome, "summary": summary, "next_step": next_step, "deal_value": deal_value,
                "deal_status": deal_status}
    fields.update({name: value for name, value in optional.items() if value is not None})
    return update_follow_up(follow_up, **fields)


# Staff plan no follow-up with someone who asked not to be contacted (the admin's forms, Undo;
# the worklist and the bulk action leave them out; the API takes what partners record).
DO_NOT_CONTACT_PLANNING = gettext_lazy(
    "This contact asked not to be contacted: plan no follow-up (a conversation that happened can be logged).")


def reopen_follow_up(follow_up: FollowUp, *, outcome: str = "") -> FollowUp:
    """Undo a "done": planned again with the outcome it had before. It was planned a moment
    ago, so contact fatigue does not refuse it; a contact who asked meanwhile not to be contacted
    does (ValidationError)."""
    if follow_up.contact.do_not_contact:
        raise ValidationError(DO_NOT_CONTACT_PLANNING)
    return update_follow_up(follow_up, status=FollowUpStatus.PLANNED, completed_at=None, outcome=outcome,
                            override=True)


@transaction.atomic
def delete_follow_up(follow_up: FollowUp) -> None:
    ensure_writable(follow_up.contact_id)
    event, contact_id = existing_event(follow_up.event_id), follow_up.contact_id
    follow_up.delete()
    _rescore_after_follow_up(event, contact_id)


@transaction.atomic
def create_referral(**fields: Any) -> Referral:
    ensure_writable(fields.get("referrer"), fields.get("referred"))
    referral = Referral(**fields)
    referral.full_clean()
    link_referral(referral)  # an e-mail of an existing contact: that contact (contacts.referral_links)
    referral.save()
    notify_late_data(referral.event, [referral.referrer_id])
    return referral


@transaction.atomic
def update_referral(referral: Referral, **fields: Any) -> Referral:
    referral = locked(referral)
    ensure_writable(referral.referrer_id, referral.referred_id, fields.get("referrer"), fields.get("referred"))
    for name, value in fields.items():
        setattr(referral, name, value)
    referral.full_clean()
    link_referral(referral)
    referral.save()
    notify_late_data(referral.event, [referral.referrer_id])
    return referral


@transaction.atomic
def delete_referral(referral: Referral) -> None:
    ensure_writable(referral.referrer_id, referral.referred_id)
    event, referrer_id = existing_event(referral.event_id), referral.referrer_id
    referral.delete()
    notify_late_data(event, [referrer_id])


@transaction.atomic
def delete_contact(contact: Contact) -> None:
    """Delete the contact and its rows; the completed events it took part in get their metrics
    computed again, and the people it met their scores (their networking lost the meetings)."""
    from scoring import triggers  # scoring depends on contacts, not the other way round
    from scoring.choices import ScoreTrigger
    from scoring.services import events_depending_on

    ensure_writable(contact)  # an erased contact's rows stay for the aggregates
    referrals = Referral.objects.filter(Q(referrer=contact) | Q(referred=contact)).exclude(event=None)
    event_ids = {
        *Attendance.objects.filter(contact=contact).values_list("event_id", flat=True),
        *Interaction.objects.filter(Q(contact=contact) | Q(counterpart=contact)).values_list("event_id", flat=True),
        *Feedback.objects.filter(contact=contact).values_list("event_id", flat=True),
        *contact.followups.exclude(event=None).values_list("event_id", flat=True),
        *referrals.values_list("event_id", flat=True),
    }
    completed = set(Event.objects.filter(pk__in=event_ids, status=EventStatus.COMPLETED).values_list("pk", flat=True))
    dependent = events_depending_on(event_ids, [contact.pk])  # e.g. the next editions' retention
    met = set(contact.interactions.exclude(counterpart=None).values_list("counterpart_id", flat=True)) - {contact.pk}
    # Who referred them: a referral converted by their attendance no longer is (docs/referrals.md).
    referrers = set(contact.referrals_received.values_list("referrer_id", flat=True)) - {contact.pk}
    contact.delete()
    triggers.refresh_event_metrics(completed | set(dependent))
    triggers.schedule_contacts_recompute(met | referrers, trigger=ScoreTrigger.LATE_DATA)


def _raise_if_organization_name_taken(name: str, *, exclude_pk: int | None = None) -> None:
    existing = (Organization.objects.filter(name_key=organization_key(name)).exclude(pk=exclude_pk)
                .values_list("pk", flat=True).first())
    if existing is not None:
        raise DuplicateOrganization("An organization with this name already exists.", existing_id=existing)


@transaction.atomic
def create_organization(**fields: Any) -> Organization:
    fields["name"] = (fields.get("name") or "").strip()
    organization = Organization(**fields)
    save_unique(organization, recheck=lambda: _raise_if_organization_name_taken(organization.name))
    return organization


@transaction.atomic
def update_organization(organization: Organization, **fields: Any) -> Organization:
    organization = locked(organization)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    for name, value in fields.items():
        setattr(organization, name, value)
    save_unique(organization, recheck=lambda: _raise_if_organization_name_taken(organization.name, exclude_pk=organization.pk))
    return organization


@transaction.atomic
def delete_organization(organization: Organization) -> None:
    organization.delete()


# Changes to a selection of contacts (the admin's bulk actions) --------------------------------
# A fixed number of queries whatever the selection's size; each changed contact gets a history
# row saying who changed it. Erased contacts take no writes and are left out.


@dataclass
class BulkResult:
    changed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> how many contacts


def _writable(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    return contacts.not_erased().order_by("pk")


@transaction.atomic
def assign_owner(contacts: QuerySet[Contact], owner, *, by=None) -> BulkResult:
    """Give the selected contacts one owner (None: no owner)."""
    owner_id = getattr(owner, "pk", owner)
    selected = _writable(contacts).select_for_update(of=("self",))
    changing = list(selected.exclude(owner_id=owner_id) if owner_id is not None else selected.exclude(owner=None))
    if changing:
        now = timezone.now()
        # One UPDATE, not bulk_update(): every row gets the same value.
        Contact.objects.filter(pk__in=[contact.pk for contact in changing]).update(owner_id=owner_id, updated_at=now)
        for contact in changing:
            contact.owner_id, contact.updated_at = owner_id, now
        Contact.history.bulk_history_create(changing, update=True, default_user=by)
    return BulkResult(changed=len(changing), skipped=_erased_count(contacts))


def clean_tags(tags: Sequence[str]) -> list[str]:
    """Trimmed, without blanks and repeats in any case (the first spelling stays: the tag filter
    matches any case), in the order given; too long ones refused."""
    first_spelling: dict[str, str] = {}
    for tag in tags:
        if tag and tag.strip():
            first_spelling.setdefault(tag.strip().casefold(), tag.strip())
    cleaned = list(first_spelling.values())
    too_long = [tag for tag in cleaned if len(tag) > TAG_MAX_LENGTH]
    if too_long:
        raise ValidationError(
            _("A tag has at most %(max)d characters: %(tag)s") % {"max": TAG_MAX_LENGTH, "tag": too_long[0][:60]}
        )
    return cleaned


@transaction.atomic
def change_tags(
    contacts: QuerySet[Contact], *, add: Sequence[str] = (), remove: Sequence[str] = (), by=None
) -> BulkResult:
    """Add and remove tags on the selected contacts; other tags and their order stay."""
    add, remove = clean_tags(add), {tag.casefold() for tag in clean_tags(remove)}
    changing = []
    too_many = 0
    for contact in _writable(contacts).select_for_update(of=("self",)):
        tags = [tag for tag in contact.tags if tag.casefold() not in remove]
        tags += [tag for tag in add if tag.casefold() not in {kept.casefold() for kept in tags}]
        if tags == contact.tags:
            continue
        if len(tags) > TAGS_MAX:
            too_many += 1
            continue
        contact.tags = tags
        changing.append(contact)
    if changing:
        now = timezone.now()
        for contact in changing:
            contact.updated_at = now
        # The history rows bulk_update_with_history() writes, after an UPDATE without its CASE.
        bulk_update_rows(Contact, changing, ["tags", "updated_at"], batch_size=BULK_BATCH_SIZE)
        Contact.history.bulk_history_create(
            changing, batch_size=BULK_BATCH_SIZE, update=True, default_user=by, default_change_reason=None
        )
        rescore_contacts([contact.pk for contact in changing])  # tags move cadences
    skipped = _erased_count(contacts)
    if too_many:
        skipped["too_many_tags"] = too_many
    return BulkResult(changed=len(changing), skipped=skipped)


@transaction.atomic
def plan_follow_ups(
    contacts: QuerySet[Contact],
    *,
    owner,
    default_owner=None,
    due_at: datetime,
    channel: str,
    summary: str = "",
    next_step: str = "",
    event: Event | None = None,
    skip_planned: bool = True,
    override: bool = False,
    by=None,
) -> BulkResult:
    """One planned follow-up per selected contact, owned by `owner`; with owner None, by each
    contact's owner, and `default_owner` for contacts without one.

    Left out: do-not-contact contacts (no outreach), with skip_planned, contacts who already
    have a planned follow-up (nobody gets two calls about the same thing), and unless
    `override`, fatigued contacts (contacts.fatigue: the agency reached out often enough).
    """
    selected = _writable(contacts)
    do_not_contact = selected.filter(do_not_contact=True).count()
    candidates = selected.filter(do_not_contact=False)
    already_planned = 0
    if skip_planned:
        has_planned = FollowUp.objects.filter(contact=OuterRef("pk"), status=FollowUpStatus.PLANNED)
        already_planned = candidates.filter(Exists(has_planned)).count()
        candidates = candidates.exclude(Exists(has_planned))
    owner_id, default_owner_id = getattr(owner, "pk", owner), getattr(default_owner, "pk", default_owner)
    # Locked in id order as check_fatigue() locks one: a plan for one of them at the same moment
    # waits, so the two cannot both pass the cap.
    rows = list(candidates.order_by("pk").select_for_update(no_key=True, of=("self",)).values_list("pk", "owner_id"))
    fatigued = set() if override or not rows else fatigued_contact_ids([pk for pk, _ in rows], timezone.now())
    follow_ups = [
        FollowUp(contact_id=contact_id, owner_id=owner_id or contact_owner_id or default_owner_id, event=event, channel=channel,
                 status=FollowUpStatus.PLANNED, due_at=due_at, summary=summary, next_step=next_step)
        for contact_id, contact_owner_id in rows if contact_id not in fatigued
    ]
    if follow_ups:
        # The shared values (each row differs by contact only); the constraints are the database's.
        follow_ups[0].full_clean(exclude=["contact"], validate_constraints=False)
        bulk_create_with_history(follow_ups, FollowUp, batch_size=BULK_BATCH_SIZE, default_user=by)
        # late data of a completed event; else the contacts alone (their next best action)
        notify_late_data(event, [follow_up.contact_id for follow_up in follow_ups])
    skipped = _erased_count(contacts)
    if do_not_contact:
        skipped["do_not_contact"] = do_not_contact
    if already_planned:
        skipped["already_planned"] = already_planned
    if fatigued:
        skipped["fatigued"] = len(fatigued)
    return BulkResult(changed=len(follow_ups), skipped=skipped)


def _erased_count(contacts: QuerySet[Contact]) -> dict[str, int]:
    erased = contacts.filter(erased_at__isnull=False).count()
    return {"erased": erased} if erased else {}
