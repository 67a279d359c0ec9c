import secrets

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from partners.models import WEBHOOK_EVENT_TYPES, PartnerAPIKey, WebhookDelivery, WebhookSubscription

# The library registers its own key model ("API Key Permissions", untranslated); partners use
# PartnerAPIKey only, so the unused one is not offered to staff.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(APIKeyModelAdmin):
    list_display = ["prefix", "name", "created", "expiry_date", "expired", "revoked", "can_read", "can_write"]
    list_filter = [*APIKeyModelAdmin.list_filter, "can_read", "can_write"]

    @admin.display(description=_("expired"), boolean=True)
    def expired(self, key: PartnerAPIKey) -> bool:
        return key.has_expired

    def save_model(self, request, obj, form=None, change=False):
        if obj.pk:
            obj.save()
            return
        # The library's message is English whatever the admin's language: the same, translated.
        key = self.model.objects.assign_key(obj)
        obj.save()
        messages.warning(request, format_html(
            _("The API key for {name} is: {key} Store it somewhere safe now: it cannot be shown again."),
            name=obj.name, key=format_html("<code>{}</code>", key)))


SECRET_MIN_LENGTH = 16


def new_secret() -> str:
    return secrets.token_urlsafe(32)


EVENT_TYPE_LABELS = {
    "event.completed": _("an event was completed"),
    "event.metrics_updated": _("an event's metrics were computed again"),
    "contact.score_changed": _("a contact's score or stage changed"),
    "followup.overdue": _("a planned follow-up fell due"),
}


class WebhookSubscriptionForm(forms.ModelForm):
    """The event types ticked, not typed as a JSON list."""

    event_types = forms.MultipleChoiceField(
        label=_("Event types"), widget=forms.CheckboxSelectMultiple,
        choices=[(event_type, format_lazy("{}: {}", event_type, EVENT_TYPE_LABELS[event_type]))
                 for event_type in WEBHOOK_EVENT_TYPES],
        help_text=_("What the partner's URL is told of; each delivery is signed with the secret."),
    )

    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         widget=forms.URLInput(attrs={"class": "vURLField", "size": 60}),
                         help_text=_("The partner's https address the deliveries are sent to."))
    # A new subscription gets a strong random secret to pass on to the partner; a typed one is
    # held to the length below (HMAC keys shorter than that are guessable).
    secret = forms.CharField(
        label=_("Signing secret"), max_length=200, initial=new_secret,
        widget=forms.TextInput(attrs={"class": "vTextField", "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Shared with the partner, who checks each delivery's signature with it; at least 16 characters."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "secret", "event_types", "is_active"]

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"]
        # A subscription saved before the rule keeps its secret (the partner checks with it).
        if len(secret) < SECRET_MIN_LENGTH and not (self.instance.pk and secret == self.instance.secret):
            raise forms.ValidationError(_("At least %(count)d characters.") % {"count": SECRET_MIN_LENGTH})
        return secret

    class Media:
        css = {"all": ["admin-ror/admin.css"]}  # the event types one per line, not in the label column's width


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id", "event_type", "subscription", "status", "attempts", "last_attempt_at", "last_status_code", "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["subscription"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
