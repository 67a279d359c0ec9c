# The scoring aggregation's covering indexes of interactions and feedback hold the event too, so
# the relationship lift's counterfactual (every row but one event's) reads them alone instead of
# the table's pages; the single-column indexes of their contact foreign keys go: the covering
# indexes lead with those columns and serve every lookup by contact.
# The new indexes are built first, under their own names, while the old ones still serve reads;
# the old ones are then dropped (whose lock blocks reads, held briefly at the end until the
# commit) and the new ones take their names.

import django.db.models.deletion
import ror_crm.db
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0011_contact_never_scored_backfill'),
        ('events', '0010_attendee_import_checked_rows'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='feedback',
            index=models.Index(fields=['contact', '-submitted_at', '-id'], include=('nps', 'event'), name='feedback_contact_latest_ev'),
        ),
        migrations.AddIndex(
            model_name='interaction',
            index=models.Index(fields=['contact', 'occurred_at'], include=('quality', 'duration_minutes', 'event'), name='interaction_contact_ev'),
        ),
        migrations.AddIndex(
            model_name='interaction',
            index=models.Index(fields=['counterpart', 'occurred_at'], include=('quality', 'duration_minutes', 'event'), name='interaction_counterpart_ev'),
        ),
        migrations.RemoveIndex(
            model_name='feedback',
            name='feedback_contact_latest_idx',
        ),
        migrations.RemoveIndex(
            model_name='interaction',
            name='interaction_contact_idx',
        ),
        migrations.RemoveIndex(
            model_name='interaction',
            name='interaction_counterpart_idx',
        ),
        migrations.AlterField(
            model_name='feedback',
            name='contact',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='feedback', to='contacts.contact', verbose_name='contact'),
        ),
        migrations.AlterField(
            model_name='interaction',
            name='contact',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='interactions', to='contacts.contact', verbose_name='contact'),
        ),
        migrations.AlterField(
            model_name='interaction',
            name='counterpart',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=ror_crm.db.SET_NULL_TOUCHED, related_name='counterpart_interactions', to='contacts.contact', verbose_name='counterpart'),
        ),
        migrations.RenameIndex(model_name='feedback', new_name='feedback_contact_latest_idx', old_name='feedback_contact_latest_ev'),
        migrations.RenameIndex(model_name='interaction', new_name='interaction_contact_idx', old_name='interaction_contact_ev'),
        migrations.RenameIndex(model_name='interaction', new_name='interaction_counterpart_idx', old_name='interaction_counterpart_ev'),
    ]
