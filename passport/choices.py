"""Enumerations of the passport domain, named after EU Regulation 2023/1542 and Battery Pass v1.2."""

from django.db import models


class BatteryKind(models.TextChoices):
    CELL = "cell", "Cell"
    MODULE = "module", "Module"
    PACK = "pack", "Pack"
    SYSTEM = "system", "System"

    @classmethod
    def rank(cls, kind: str) -> int:
        """Position in the cell < module < pack < system containment order."""
        return [c.value for c in cls].index(kind)


class BatteryCategory(models.TextChoices):
    """Battery categories that need a passport (Art. 77(1)); values as in the Battery Pass schema."""

    LMT = "lmt", "Light means of transport battery"
    EV = "ev", "Electric vehicle battery"
    INDUSTRIAL = "industrial", "Industrial battery (> 2 kWh)"
    STATIONARY = "stationary", "Stationary battery energy storage system"


class BatteryStatus(models.TextChoices):
    """Battery status (Annex XIII 1(d)); values as in the Battery Pass schema."""

    ORIGINAL = "Original", "Original"
    REPURPOSED = "Repurposed", "Repurposed"
    REUSED = "Reused", "Re-used"
    REMANUFACTURED = "Remanufactured", "Remanufactured"
    WASTE = "Waste", "Waste"


class PassportState(models.TextChoices):
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded by a newer passport"
    CLOSED = "closed", "Closed (battery became waste)"


class Role(models.TextChoices):
    """Who is asking. The audience of each attribute comes from the longlist's access column."""

    PUBLIC = "public", "Public"
    LEGITIMATE_INTEREST = "legitimate_interest", "Person with a legitimate interest"
    AUTHORITY = "authority", "Notified body, market surveillance authority or the Commission"
    ECONOMIC_OPERATOR = "economic_operator", "Economic operator"


class AccessRight(models.TextChoices):
    """The four values of the 'Access rights according to Battery Regulation' column."""

    PUBLIC = "Public"
    LEGITIMATE_INTEREST = "persons with a legitimate interest"
    LEGITIMATE_INTEREST_AND_COMMISSION = "persons with a legitimate interest and the Commission"
    AUTHORITIES = "Notified bodies, market surveillance authorities and the Commission"


# Art. 77(2) and Annex XIII: which roles belong to each audience named in the longlist.
# The economic operator responsible for a battery sees everything of that battery.
AUDIENCE_ROLES: dict[str, frozenset[str]] = {
    AccessRight.PUBLIC: frozenset(Role.values),
    AccessRight.LEGITIMATE_INTEREST: frozenset({Role.LEGITIMATE_INTEREST, Role.ECONOMIC_OPERATOR}),
    AccessRight.LEGITIMATE_INTEREST_AND_COMMISSION: frozenset(
        {Role.LEGITIMATE_INTEREST, Role.AUTHORITY, Role.ECONOMIC_OPERATOR}
    ),
    AccessRight.AUTHORITIES: frozenset({Role.AUTHORITY, Role.ECONOMIC_OPERATOR}),
}


class PassportCategory(models.TextChoices):
    """The seven Battery Pass v1.2 aspect models that make up a passport."""

    GENERAL_PRODUCT_INFORMATION = "GeneralProductInformation", "General product information"
    CARBON_FOOTPRINT = "CarbonFootprint", "Carbon footprint"
    CIRCULARITY = "Circularity", "Circularity and resource efficiency"
    LABELS = "Labels", "Symbols, labels and documentation of conformity"
    MATERIAL_COMPOSITION = "MaterialComposition", "Battery materials and composition"
    PERFORMANCE_AND_DURABILITY = "PerformanceAndDurability", "Performance and durability"
    SUPPLY_CHAIN_DUE_DILIGENCE = "SupplyChainDueDiligence", "Supply chain due diligence"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
