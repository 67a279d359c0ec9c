import unicodedata

import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contacts.choices import DealStatus, FollowUpChannel, FollowUpOutcome, FollowUpStatus
from contacts.exceptions import ContactErased
from contacts.querysets import ContactQuerySet, FollowUpQuerySet
from ror_crm.db import SET_NULL_TOUCHED, TimeStampedModel, stored_value
from ror_crm.validators import FREE_TEXT_MAX_LENGTH, validate_free_text_length, validate_happened

TAG_MAX_LENGTH = 50  # characters of one tag
CADENCE_MIN_DAYS, CADENCE_MAX_DAYS = 1, 3650  # a keep-in-touch cadence, in days
TAGS_MAX = 100  # tags on one contact


def normalize_email(email: str | None) -> str | None:
    """Emails are compared trimmed and lower-cased (DOMAIN.md: Contact), and as one mailbox
    however its letters and domain are spelled: composed Unicode (an "ü" typed as u + ¨ is the
    "ü"), and an international domain in its own letters rather than its ASCII form
    (`xn--mller-kva.example` is `müller.example`)."""
    if email is None:
        return None
    email = unicodedata.normalize("NFC", email.strip().lower())
    local, at, domain = email.rpartition("@")
    if at and "xn--" in domain:
        try:
            domain = idna.decode(domain)  # IDNA 2008, as browsers: "xn--strae-oqa.de" is "straße.de"
        except (idna.IDNAError, UnicodeError):
            pass  # not a valid ASCII form: kept as written, the validator judges it
    return f"{local}{at}{domain}" if at else email


def ensure_writable(*contacts: "Contact | int | None") -> None:
    """Erased contacts keep their id and rows but take no more writes (API.md): their rows
    are neither changed, nor deleted, nor linked to anything new. Contacts are given as
    objects or as ids (looked up in one query; an id of a contact already gone passes)."""
    erased = [contact.pk for contact in contacts if isinstance(contact, Contact) and contact.is_erased]
    ids = {contact for contact in contacts if isinstance(contact, int)}
    if not erased and ids:
        erased = list(Contact.objects.filter(pk__in=ids, erased_at__isnull=False).values_list("pk", flat=True)[:1])
    if erased:
        raise ContactErased("This contact was erased and cannot be written to.", existing_id=erased[0])


def organization_key(name: str | None) -> str:
    """Organization names are unique compared trimmed and lower-cased (DOMAIN.md). Lower-cased
    here, not by the database: SQLite's lower() and PostgreSQL's under the C locale fold only
    ASCII letters ("Äpfel" and "äpfel" would be two organizations)."""
    return (name or "").strip().lower()


class OrganizationKeyField(models.TextField):
    """organization_key() of the row's name, set whenever the row is written: by save() and by
    bulk_create() alike (both ask each field for its value through pre_save)."""

    def __init__(self, *args, **kwargs):
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        key = organization_key(model_instance.name)
        setattr(model_instance, self.attname, key)
        return key


class Organization(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    name_key = OrganizationKeyField()  # what the names' uniqueness compares
    domain = models.CharField(_("domain"), max_length=253, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.UniqueConstraint(fields=["name_key"], name="organization_name_key_unique",
                violation_error_message=_("An organization with this name already exists.")),
            models.CheckConstraint(condition=~Q(name=""), name="organization_name_not_blank",
                violation_error_message=_("The organization needs a name.")),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The unique key is no form field: without this a form never learns of a duplicate.
        self.name = (self.name or "").strip()
        duplicate = (Organization.objects.filter(name_key=organization_key(self.name)).exclude(pk=self.pk)
                     .values_list("pk", flat=True).first())
        if duplicate is not None:
            raise ValidationError(
                {"name": _("An organization with this name already exists (id %(id)s).") % {"id": duplicate}})
        self.name_key = organization_key(self.name)  # for the unique constraint's check that follows

    def save(self, *args, **kwargs):
        self.name = self.name.strip()
        super().save(*args, **kwargs)


class Contact(TimeStampedModel):
    # Null only once erased (GDPR): the row stays for aggregates, the person is gone.
    email = models.EmailField(_("e-mail"), max_length=254, null=True, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="contacts",
    )
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="owned_contacts",
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    marketing_consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    marketing_consent_source = models.CharField(_("consent source"), max_length=100, blank=True)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    # Overrides the segment cadences (scoring.KeepInTouchCadence) for this one person.
    cadence_days = models.IntegerField(  # not Positive…: its own 0 bound would say "≥ 0" where 1 is the least
        _("keep-in-touch cadence (days)"), null=True, blank=True,
        validators=[MinValueValidator(CADENCE_MIN_DAYS), MaxValueValidator(CADENCE_MAX_DAYS)],
        help_text=_("Days between touches for this contact; empty: the cadence of their stage, tags or organization."),
    )
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)
    # True until the contact's first score is stored (scoring.services.writes; a score row goes
    # only with its contact). The contacts without a score, which the API's `ordering=score`
    # lists first, are then read from a partial index of the few never scored instead of an
    # anti-join over every contact. A contact scored by other means stays True: harmless, as the
    # list also checks for the score row. A database default too, for rows loaded in bulk.
    never_scored = models.BooleanField(default=True, db_default=True, editable=False)

    objects = ContactQuerySet.as_manager()

    history = HistoricalRecords(excluded_fields=["updated_at", "never_scored"])

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(Lower(Trim("email")), name="contact_email_normalized_unique",
                violation_error_message=_("A contact with this e-mail already exists.")),
            models.CheckConstraint(
                condition=Q(cadence_days__isnull=True)
                | Q(cadence_days__gte=CADENCE_MIN_DAYS, cadence_days__lte=CADENCE_MAX_DAYS),
                name="contact_cadence_days_range",
                violation_error_message=_("A keep-in-touch cadence lies between 1 and 3,650 days."),
            ),
            models.CheckConstraint(
                condition=Q(erased_at__isnull=False) | (Q(email__isnull=False) & ~Q(email="")),
                name="contact_email_required_unless_erased",
                violation_error_message=_("An e-mail address is required."),
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "last_name"], name="contact_owner_idx"),
            models.Index(fields=["id"], condition=Q(never_scored=True), name="contact_never_scored_idx"),
            models.Index(fields=["created_at", "id"], name="contact_created_idx"),  # the API's ordering=created_at
        ]

    def __str__(self) -> str:
        if self.is_erased:
            return f"Erased contact #{self.pk}"
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.email}>" if name else (self.email or f"Contact #{self.pk}")

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        """How the admin's lists name the contact: the full name (else the e-mail), or "Erased contact #id"."""
        if self.is_erased:
            return _("Erased contact #%(id)s") % {"id": self.pk}
        return self.full_name or self.email

    def clean(self) -> None:
        self.email = normalize_email(self.email) or None
        if not self.email and not self.is_erased:
            raise ValidationError({"email": _("An e-mail address is required.")})
        if self.email:
            duplicate = Contact.objects.with_emails([self.email]).exclude(pk=self.pk).first()
            if duplicate is not None:
                raise ValidationError(
                    {"email": _("A contact with this e-mail already exists (id %(id)s).") % {"id": duplicate.pk}}
                )
        if not isinstance(self.tags, list) or not all(isinstance(tag, str) for tag in self.tags):
            raise ValidationError({"tags": _("Tags must be a list of strings.")})

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email) or None
        super().save(*args, **kwargs)


class FollowUp(TimeStampedModel):
    """The follow-up conversation after an event (seeds: "Folgegespräche")."""

    contact = models.ForeignKey(Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="followups")
    event = models.ForeignKey(
        "events.Event", verbose_name=_("origin event"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="followups",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="followups",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=FollowUpChannel.choices, default=FollowUpChannel.EMAIL)
    status = models.CharField(_("status"), max_length=20, choices=FollowUpStatus.choices, default=FollowUpStatus.PLANNED)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=FollowUpOutcome.choices, blank=True)
    summary = models.TextField(_("summary"), blank=True,
                              max_length=FREE_TEXT_MAX_LENGTH, validators=[validate_free_text_length])
    next_step = models.TextField(_("next step"), blank=True,
                                max_length=FREE_TEXT_MAX_LENGTH, validators=[validate_free_text_length])
    deal_value = models.DecimalField(_("deal value"), max_digits=14, decimal_places=2, null=True, blank=True)
    deal_status = models.CharField(_("deal status"), max_length=10, choices=DealStatus.choices, default=DealStatus.NONE)

    objects = FollowUpQuerySet.as_manager()

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        # Sales managers (and agency staff) see every owner's worklist; salespeople their own.
        permissions = [("review_team_worklist", _("Can review the whole team's worklist"))]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status=FollowUpStatus.DONE) & Q(completed_at__isnull=False))
                | (~Q(status=FollowUpStatus.DONE) & Q(completed_at__isnull=True)),
                name="followup_done_iff_completed_at",
                violation_error_message=_("A follow-up is done exactly when it has a completion time."),
            ),
            models.CheckConstraint(condition=Q(status__in=FollowUpStatus.values), name="followup_status_valid",
                violation_error_message=_("Unknown follow-up status.")),
            models.CheckConstraint(condition=Q(channel__in=FollowUpChannel.values), name="followup_channel_valid",
                violation_error_message=_("Unknown follow-up channel.")),
            models.CheckConstraint(
                condition=Q(outcome__in=[*FollowUpOutcome.values, ""]), name="followup_outcome_valid",
                violation_error_message=_("Unknown follow-up outcome.")
            ),
            models.CheckConstraint(condition=Q(deal_status__in=DealStatus.values), name="followup_deal_status_valid",
                violation_error_message=_("Unknown deal status.")),
            models.CheckConstraint(
                condition=Q(deal_value__isnull=True) | Q(deal_value__gte=0), name="followup_deal_value_not_negative",
                violation_error_message=_("The deal value cannot be negative.")
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="followup_owner_status_due_idx"),
            models.Index(fields=["status", "due_at"], name="followup_status_due_idx"),
            # INCLUDE: the scoring aggregation reads done follow-ups from the index alone.
            models.Index(fields=["contact", "status", "completed_at"], include=["event", "outcome"],
                         name="followup_contact_done_idx"),
            models.Index(fields=["event", "contact"], name="followup_event_contact_idx"),
            # Contact fatigue (contacts.fatigue) counts planned follow-ups per contact from the index.
            models.Index(fields=["contact", "due_at"], include=["created_at"], condition=Q(status=FollowUpStatus.PLANNED),
                         name="followup_contact_planned_idx"),
        ]

    def __str__(self) -> str:
        return _("%(channel)s follow-up with %(contact)s (%(status)s)") % {
            "channel": self.get_channel_display(), "contact": self.contact, "status": self.get_status_display()}

    def clean(self) -> None:
        validate_happened(self, "completed_at")
        errors = {}  # every error at its field at once (see Event.clean())
        if self.status == FollowUpStatus.DONE and self.completed_at is None:
            errors["completed_at"] = _("A done follow-up needs the time it was completed.")
        if self.status != FollowUpStatus.DONE and self.completed_at is not None:
            errors["completed_at"] = _("Only a done follow-up has a completion time.")
        elif self._done_before_its_event():
            errors["completed_at"] = _(
                "A follow-up of an event is done once the event has begun: this time is before its start. Choose "
                "the event it followed, or no event."
            )
        if self.deal_value is not None and self.deal_value < 0:
            errors["deal_value"] = _("The deal value cannot be negative.")
        if errors:
            raise ValidationError(errors)

    def _done_before_its_event(self) -> bool:
        """Done before its event began: no follow-up of it (it would count as one within 48 hours).
        Checked when it is done, dated or given its event: rows stored before the rule stay editable."""
        if self.completed_at is None or self.event_id is None:
            return False
        names = ("completed_at", "event_id")
        if not self._state.adding and all(getattr(self, name) == stored_value(self, name) for name in names):
            return False
        return self.completed_at < self.event.starts_at

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.status == FollowUpStatus.PLANNED and self.due_at is not None and self.due_at < timezone.now()


class Referral(TimeStampedModel):
    """A contact recommends someone: the advocacy of the seeds (Weiterempfehlung)."""

    referrer = models.ForeignKey(Contact, verbose_name=_("referrer"), on_delete=models.CASCADE, related_name="referrals_made")
    referred = models.ForeignKey(
        Contact, verbose_name=_("referred contact"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="referrals_received",
    )
    referred_email = models.EmailField(_("referred e-mail"), blank=True)
    event = models.ForeignKey(
        "events.Event", verbose_name=_("event"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="referrals",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            models.CheckConstraint(
                condition=Q(referred__isnull=True) | ~Q(referred=models.F("referrer")),
                name="referral_not_self",
                violation_error_message=_("A contact cannot refer themselves."),
            ),
        ]
        indexes = [
            models.Index(fields=["referrer", "created_at"], name="referral_referrer_idx"),
            models.Index(fields=["event"], name="referral_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.referrer} → {self.referred or self.referred_email or '?'}"

    def clean(self) -> None:
        if self.referred_id is not None and self.referred_id == self.referrer_id:
            raise ValidationError({"referred": _("A contact cannot refer themselves.")})
        self.referred_email = normalize_email(self.referred_email) or ""
        validate_happened(self, "created_at")
        # Checked when a referral is made or its people change: one whose referred contact was
        # deleted since (or stored before the rule) keeps taking other changes.
        names = ("referrer_id", "referred_id", "referred_email")
        if not self._state.adding and all(getattr(self, name) == stored_value(self, name) for name in names):
            return
        if self.referred_id is None and not self.referred_email:
            raise ValidationError({"referred_email": _("Name the person referred: a contact or their e-mail.")})
        referrer = self.referrer if self.referrer_id else None
        if self.referred_email and referrer is not None and self.referred_email == normalize_email(referrer.email):
            raise ValidationError({"referred_email": _("A contact cannot refer themselves.")})
