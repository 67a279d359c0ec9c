from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from partners.verified_keys import keys_changed

WEBHOOK_EVENT_TYPES = ("event.completed", "event.metrics_updated", "contact.score_changed", "followup.overdue")


class PartnerAPIKeyQuerySet(models.QuerySet):
    def update(self, **fields) -> int:
        # Processes keep verified keys until the keys' version changes (partners.verified_keys);
        # saves and deletes change it through signals (partners.receivers), updates here.
        updated = super().update(**fields)
        keys_changed()
        return updated


class PartnerAPIKey(AbstractAPIKey):
    """A partner system's key: only its hash is stored; scopes say what it may do."""

    objects = APIKeyManager.from_queryset(PartnerAPIKeyQuerySet)()

    # The library's fields again, with labels and help of the product's (translated) words.
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False,
                              help_text=_("The key's first characters, to tell keys apart; the rest is never shown."))
    created = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    name = models.CharField(_("name"), max_length=50, blank=False, default=None,
                            help_text=_("What the key is for, e.g. the partner system; need not be unique."))
    revoked = models.BooleanField(_("revoked"), blank=True, default=False,
                                  help_text=_("A revoked key is refused from the next request on. This cannot be undone."))
    expiry_date = models.DateTimeField(_("expires"), blank=True, null=True,
                                       help_text=_("From then on the key is refused."))
    can_read = models.BooleanField(_("read scope"), default=True)
    can_write = models.BooleanField(_("write scope"), default=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")

    @property
    def scopes(self) -> list[str]:
        return [scope for scope, granted in (("read", self.can_read), ("write", self.can_write)) if granted]

    def clean(self):
        super().clean()
        errors = {}
        if not (self.can_read or self.can_write or self.revoked):  # (a revoked key needs none)
            errors["can_read"] = _("A key needs the read scope, the write scope or both: without either it is refused "
                                   "everywhere.")
        # A new key that has expired already is refused from the start (an existing key may be ended so).
        if self._state.adding and self.expiry_date is not None and self.expiry_date <= timezone.now():
            errors["expiry_date"] = _("This time has passed: the key would be refused from the start.")
        if errors:
            raise ValidationError(errors)


class IdempotencyRecord(models.Model):
    """The first response to an unsafe request with an Idempotency-Key, replayed for 24 h."""

    credential = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["credential", "key"], name="idempotency_credential_key_unique")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class WebhookSubscription(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    event_types = models.JSONField(_("event types"), default=list, help_text=", ".join(WEBHOOK_EVENT_TYPES))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from partners.outbound import UnsafeURL, check_url

        errors = {}
        unknown = set(self.event_types or []) - set(WEBHOOK_EVENT_TYPES)
        if not isinstance(self.event_types, list) or unknown:
            errors["event_types"] = _("Choose from: %s.") % ", ".join(WEBHOOK_EVENT_TYPES)
        if self.url:
            # https to a public address only (partners/outbound.py); checked again at every send.
            try:
                check_url(self.url)
            except UnsafeURL as refusal:
                errors["url"] = str(refusal)
        if errors:
            raise ValidationError(errors)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(_("event type"), max_length=50)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            # The sweep's every-minute look for deliveries whose send was lost (partners.tasks).
            models.Index(fields=["created_at"], condition=models.Q(status="pending"), name="webhook_delivery_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription} ({self.status})"


class EmittedUntil(models.Model):
    """How far a periodic webhook emitter got: `followup.overdue` has been emitted for the planned
    follow-ups whose due time passed before `until`. The next run starts there, however late it
    runs, and runs at once wait for each other on this row: a late or missed run drops none of
    them, a repeated one sends none twice. Follow-ups logged after `until` with a due time already
    before it are announced by the next run (by their creation time). Each run also looks a few
    minutes before `until` (rows committed just after the previous run read) and leaves out what
    was announced already."""

    event_type = models.CharField(_("event type"), max_length=50, primary_key=True)
    until = models.DateTimeField(_("until"))

    class Meta:
        verbose_name = _("webhook emitter position")
        verbose_name_plural = _("webhook emitter positions")

    def __str__(self) -> str:
        return f"{self.event_type} until {self.until:%Y-%m-%d %H:%M}"
