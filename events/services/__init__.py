"""Every write to events, series, attendances, interactions and feedback (API, admin, imports).

One module per use case; callers import from `events.services`. Writes that land on a
completed event are "late data" (DOMAIN.md): they tell scoring, which recomputes the affected
contacts and the event's metrics after commit, debounced (late_data.py).
"""

from events.services.attendances import (
    CheckInResult,
    check_in,
    check_in_attendances,
    create_attendance,
    delete_attendance,
    update_attendance,
)
from events.services.attendee_upsert import (
    ATTENDANCE_ROW_FIELDS,
    BULK_MAX_ROWS,
    CANCELLED_MESSAGE_EN,
    CHECKED_IN_BEFORE_MESSAGE_EN,
    CONTACT_ROW_FIELDS,
    EXTERNAL_ID_REPEATED,
    EXTERNAL_ID_TAKEN,
    NOT_STARTED_MESSAGE_EN,
    STATUS_STAGE,
    AttendeePlan,
    AttendeeRowPlan,
    BulkUpsertResult,
    CheckedRow,
    EarlierRows,
    FieldChange,
    bulk_upsert_attendances,
    check_attendee_rows,
    plan_attendee_rows,
    upsert_attendee_rows,
)
from events.services.events import (
    complete_event,
    create_event,
    create_series,
    delete_event,
    delete_series,
    request_event_recompute,
    update_event,
    update_series,
)
from events.services.interactions import (
    delete_feedback,
    delete_interaction,
    record_feedback,
    record_interaction,
    update_feedback,
    update_interaction,
)
from events.services.late_data import existing_event, notify_late_data

__all__ = [
    "ATTENDANCE_ROW_FIELDS",
    "BULK_MAX_ROWS",
    "CONTACT_ROW_FIELDS",
    "EXTERNAL_ID_REPEATED",
    "EXTERNAL_ID_TAKEN",
    "CANCELLED_MESSAGE_EN",
    "CHECKED_IN_BEFORE_MESSAGE_EN",
    "NOT_STARTED_MESSAGE_EN",
    "STATUS_STAGE",
    "AttendeePlan",
    "AttendeeRowPlan",
    "BulkUpsertResult",
    "CheckInResult",
    "CheckedRow",
    "EarlierRows",
    "FieldChange",
    "bulk_upsert_attendances",
    "check_attendee_rows",
    "check_in",
    "check_in_attendances",
    "complete_event",
    "create_attendance",
    "create_event",
    "create_series",
    "delete_attendance",
    "delete_event",
    "delete_feedback",
    "delete_interaction",
    "delete_series",
    "existing_event",
    "notify_late_data",
    "plan_attendee_rows",
    "record_feedback",
    "record_interaction",
    "request_event_recompute",
    "update_attendance",
    "update_event",
    "update_feedback",
    "update_interaction",
    "update_series",
    "upsert_attendee_rows",
]
