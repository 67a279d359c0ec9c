from django.db import models
from django.utils.translation import gettext_lazy as _


class FollowUpChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    VIDEO = "video", _("Video call")
    MEETING = "meeting", _("Meeting")
    SOCIAL = "social", _("Social media")
    MESSENGER = "messenger", _("Messenger")


class FollowUpStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUpOutcome(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    NO_RESPONSE = "no_response", _("No response")


class DealStatus(models.TextChoices):
    NONE = "none", _("No deal")
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
