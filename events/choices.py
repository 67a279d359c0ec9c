from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    CONFERENCE = "conference", _("Conference")
    TRADE_FAIR = "trade_fair", _("Trade fair")
    ROADSHOW = "roadshow", _("Roadshow")
    WORKSHOP = "workshop", _("Workshop")
    DINNER = "dinner", _("Dinner")
    WEBINAR = "webinar", _("Webinar")
    OTHER = "other", _("Other")


class EventFormat(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    VIRTUAL = "virtual", _("Virtual")
    HYBRID = "hybrid", _("Hybrid")


class EventStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    LIVE = "live", _("Live")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class AttendanceRole(models.TextChoices):
    ATTENDEE = "attendee", _("Attendee")
    SPEAKER = "speaker", _("Speaker")
    VIP = "vip", _("VIP")
    SPONSOR = "sponsor", _("Sponsor")
    EXHIBITOR = "exhibitor", _("Exhibitor")


class AttendanceStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    REGISTERED = "registered", _("Registered")
    WAITLISTED = "waitlisted", _("Waitlisted")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


class InteractionKind(models.TextChoices):
    MEETING = "meeting", _("Meeting")
    BOOTH_VISIT = "booth_visit", _("Booth visit")
    SESSION = "session", _("Session")
    LEAD_SCAN = "lead_scan", _("Lead scan")
    INTRODUCTION = "introduction", _("Introduction")
    DINNER = "dinner", _("Dinner")
    CONVERSATION = "conversation", _("Conversation")


class MeetingReason(models.TextChoices):
    """Why two attendees should meet (events.meeting_suggestions), strongest first."""

    FOLLOWUP_PENDING = "followup_pending", _("Follow-up pending")
    SAME_INDUSTRY = "same_industry", _("Same industry")
    SHARED_TAGS = "shared_tags", _("Shared tags")
    BOTH_HIGH_SCORE = "both_high_score", _("Both high score")


class ImportStatus(models.TextChoices):
    """Where an attendee import (events.AttendeeImport) stands; the tasks move it along."""

    PREVIEWING = "previewing", _("Previewing")
    READY = "ready", _("Ready to import")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")
