import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from passport.choices import PassportCategory, PassportState
from passport.models.fields import IJSONDecoder
from passport.models.mixins import IdentifiedModel


def new_passport_identifier() -> str:
    # The Battery Pass schema requires ^urn:[a-z0-9]+:[a-z0-9]+$ for passport identifiers.
    return f"urn:cellpass:{uuid.uuid4().hex}"


class Passport(IdentifiedModel):
    """A battery passport. A battery gets a new one when it is repurposed, re-used or remanufactured."""

    battery = models.ForeignKey("passport.Battery", on_delete=models.PROTECT, related_name="passports")
    identifier = models.CharField(max_length=128, unique=True, default=new_passport_identifier)
    state = models.CharField(max_length=16, choices=PassportState.choices, default=PassportState.ACTIVE)
    issued_by = models.ForeignKey(
        "passport.Organisation", on_delete=models.PROTECT, related_name="issued_passports"
    )
    predecessors = models.ManyToManyField("self", symmetrical=False, related_name="successors", blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)

    iri_segment = "passport"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["battery"],
                condition=Q(state=PassportState.ACTIVE),
                name="passport_one_active_per_battery",
            )
        ]

    def __str__(self) -> str:
        return self.identifier


class PassportSection(models.Model):
    """The battery-level content of one Battery Pass category of a passport."""

    passport = models.ForeignKey(Passport, on_delete=models.CASCADE, related_name="sections")
    category = models.CharField(max_length=32, choices=PassportCategory.choices)
    payload = models.JSONField(default=dict, decoder=IJSONDecoder)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["category"]
        constraints = [
            models.UniqueConstraint(fields=["passport", "category"], name="section_unique_category")
        ]

    def __str__(self) -> str:
        return f"{self.passport_id}:{self.category}"
