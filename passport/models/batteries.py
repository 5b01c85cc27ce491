from django.db import models
from django.db.models import F, Q

from passport.choices import BatteryCategory, BatteryKind, BatteryStatus
from passport.models.fields import IJSONDecoder
from passport.models.mixins import IdentifiedModel


class BatteryModel(IdentifiedModel):
    """Type-level data shared by every battery of a series (longlist granularity 'Battery model')."""

    manufacturer = models.ForeignKey(
        "passport.Organisation", on_delete=models.PROTECT, related_name="battery_models"
    )
    model_number = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=BatteryKind.choices)
    category = models.CharField(max_length=16, choices=BatteryCategory.choices)
    chemistry = models.CharField(max_length=32, help_text="Short name, e.g. NMC811, LFP, NCA")
    rated_capacity_ah = models.DecimalField(max_digits=10, decimal_places=3)
    nominal_voltage_v = models.DecimalField(max_digits=8, decimal_places=3)
    rated_energy_kwh = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    mass_kg = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    # Battery Pass content that is the same for the whole series, per category (partial payloads).
    content = models.JSONField(default=dict, blank=True, decoder=IJSONDecoder)
    revision = models.PositiveIntegerField(default=1)

    iri_segment = "battery-model"

    class Meta:
        ordering = ["manufacturer__name", "model_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "model_number"], name="battery_model_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_number} ({self.name})"


class Battery(IdentifiedModel):
    """One physical battery: a cell, module, pack or system."""

    identifier = models.CharField(
        max_length=64,
        unique=True,
        help_text="Unique battery identifier (ISO/IEC 15459: agency code + company prefix + serial)",
    )
    issuing_agency_code = models.CharField(max_length=3, blank=True)
    company_prefix = models.CharField(max_length=20, blank=True)
    serial_number = models.CharField(max_length=50, blank=True)
    kind = models.CharField(max_length=16, choices=BatteryKind.choices, db_index=True)
    model = models.ForeignKey(BatteryModel, on_delete=models.PROTECT, related_name="batteries")
    operator = models.ForeignKey(
        "passport.Organisation",
        on_delete=models.PROTECT,
        related_name="operated_batteries",
        help_text="Economic operator currently responsible for the battery and its passport",
    )
    status = models.CharField(
        max_length=16, choices=BatteryStatus.choices, default=BatteryStatus.ORIGINAL, db_index=True
    )
    manufactured_at = models.DateTimeField(db_index=True)
    put_into_service_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)

    iri_segment = "battery"

    class Meta:
        ordering = ["identifier"]
        verbose_name_plural = "batteries"
        indexes = [models.Index(fields=["operator", "kind"])]

    def __str__(self) -> str:
        return self.identifier


class Composition(models.Model):
    """A child battery installed in a parent for a period: the hierarchy and its history."""

    parent = models.ForeignKey(Battery, on_delete=models.PROTECT, related_name="component_links")
    child = models.ForeignKey(Battery, on_delete=models.PROTECT, related_name="parent_links")
    position = models.CharField(max_length=64, blank=True, help_text="Slot label within the parent")
    installed_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["installed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["child"], condition=Q(removed_at__isnull=True), name="composition_one_current_parent"
            ),
            models.CheckConstraint(condition=~Q(parent=F("child")), name="composition_not_self"),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gte=F("installed_at")),
                name="composition_removed_after_installed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} in {self.parent_id}"
