"""Only an attended row has a check-in time (a constraint).

Rows stored before it that broke the rule are made to keep it first: `registered` or `invited`
with a check-in time becomes `attended`, as every write of a check-in time made it; a no-show, a
cancellation or a waiting-list place keeps its status (set by someone after the check-in, or
together with it) and loses the time. Their `updated_at` moves, so partners syncing learn of it.
"""

from django.db import migrations, models
from django.utils import timezone


def keep_check_ins_on_attended_rows(apps, schema_editor):
    Attendance = apps.get_model("events", "Attendance")
    rows = Attendance.objects.using(schema_editor.connection.alias).filter(checked_in_at__isnull=False)
    now = timezone.now()
    rows.filter(status__in=["registered", "invited"]).update(status="attended", updated_at=now)
    rows.exclude(status="attended").update(checked_in_at=None, updated_at=now)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0015_cadence_days_integer"),
        ("events", "0013_field_labels"),
    ]

    operations = [
        migrations.RunPython(keep_check_ins_on_attended_rows, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="attendance",
            constraint=models.CheckConstraint(
                condition=models.Q(("checked_in_at__isnull", True), ("status", "attended"), _connector="OR"),
                name="attendance_checked_in_attended",
                violation_error_message=(
                    "Only someone who attended has a check-in time: clear it for a no-show, a cancellation or a "
                    "place on the waiting list."
                ),
            ),
        ),
    ]
