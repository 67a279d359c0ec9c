"""Abstract model pieces shared by every app (nothing domain-specific)."""

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """`created_at` may be set explicitly (imports, backfills); `updated_at` drives sync."""

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True
