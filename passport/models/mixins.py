import uuid

from django.conf import settings
from django.db import models


class IdentifiedModel(models.Model):
    """A record with a UUID that never changes and so can be published as an IRI."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    iri_segment: str = ""

    class Meta:
        abstract = True

    @property
    def iri(self) -> str:
        return f"{settings.CELLPASS_BASE_URL}/id/{self.iri_segment}/{self.id}"
