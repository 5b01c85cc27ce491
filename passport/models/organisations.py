from django.core.validators import RegexValidator
from django.db import models

from passport.models.mixins import IdentifiedModel

# ISO/IEC 15459-2: an issuing agency code is one to three upper-case letters or digits
# (GS1 holds 0-9, for instance); the company identification number follows the agency's rules.
issuing_agency_code_validator = RegexValidator(r"^[A-Z0-9]{1,3}$", "1 to 3 upper-case letters or digits")
company_prefix_validator = RegexValidator(r"^[A-Z0-9]{1,20}$", "1 to 20 upper-case letters or digits")


class Organisation(IdentifiedModel):
    """A company or authority: manufacturer, operator, recycler, notified body…"""

    name = models.CharField(max_length=200)
    trade_name = models.CharField(max_length=200, blank=True)
    issuing_agency_code = models.CharField(
        max_length=3,
        blank=True,
        validators=[issuing_agency_code_validator],
        help_text="ISO/IEC 15459 issuing agency code under which the company prefix was issued",
    )
    company_prefix = models.CharField(
        max_length=20,
        blank=True,
        validators=[company_prefix_validator],
        help_text="Company identification number issued by the agency (e.g. a GS1 company prefix)",
    )
    street_address = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)

    iri_segment = "organisation"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuing_agency_code", "company_prefix"],
                condition=~models.Q(company_prefix=""),
                name="organisation_unique_company_prefix",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def operator_identifier(self) -> str:
        """The ISO/IEC 15459 company identifier (agency code + company prefix), else the UUID."""
        if self.company_prefix:
            return f"{self.issuing_agency_code}{self.company_prefix}"
        return str(self.id)

    def contact_information(self) -> dict:
        """This organisation as a Battery Pass ``ContactInformationEntity``."""
        contact: dict = {
            "contactName": self.trade_name or self.name,
            "identifier": self.operator_identifier,
            "postalAddress": {
                "addressCountry": self.country,
                "postalCode": self.postal_code,
                "streetAddress": self.street_address,
            },
        }
        if self.email:
            contact["emailAddress"] = self.email
        if self.website:
            contact["webAddress"] = self.website
        return contact
