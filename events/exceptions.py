from ror_crm.exceptions import DomainError


class DuplicateAttendance(DomainError):
    code = "attendance_exists"
    field = "contact"


class DuplicateExternalId(DomainError):
    """Another attendance (or interaction) holds this (source, external_id): a scanner or
    ticketing system sending its row again learns which one."""

    code = "external_id_exists"
    field = "external_id"


class DuplicateFeedback(DomainError):
    code = "feedback_exists"
    field = "contact"


class EventCancelled(DomainError):
    code = "event_cancelled"


class EventNotEnded(DomainError):
    code = "event_not_ended"


class EventCompleted(DomainError):
    code = "event_completed"
    field = "status"


class EventClosed(DomainError):
    """A completed or cancelled event takes no more planning (e.g. meeting suggestions)."""

    code = "event_closed"
