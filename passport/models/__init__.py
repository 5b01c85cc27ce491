from passport.models.access import Membership
from passport.models.batteries import Battery, BatteryModel, Composition
from passport.models.jobs import BulkRegistrationJob
from passport.models.organisations import Organisation
from passport.models.passports import Passport, PassportSection

__all__ = [
    "Battery",
    "BatteryModel",
    "BulkRegistrationJob",
    "Composition",
    "Membership",
    "Organisation",
    "Passport",
    "PassportSection",
]
