from django.conf import settings
from django.db import models

from passport.choices import JobState
from passport.models.mixins import IdentifiedModel


class BulkRegistrationJob(IdentifiedModel):
    """A bulk registration handed to a Celery worker; its rows are kept until it has run."""

    organisation = models.ForeignKey("passport.Organisation", on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    rows = models.JSONField()
    row_count = models.PositiveIntegerField()
    created_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    iri_segment = "job"

    class Meta:
        ordering = ["-created_at"]
