from django.conf import settings
from django.db import models

from passport.choices import Role


class Membership(models.Model):
    """A user's organisation and the role in which the user reads passports.

    An economic operator sees and writes everything of the batteries its organisation
    manufactures or operates; for other batteries it reads like the public. Legitimate
    interest and authority roles are granted by staff after checking the claim (Art. 77(2)).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(
        "passport.Organisation", on_delete=models.PROTECT, related_name="members"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(role=Role.PUBLIC), name="membership_role_not_public")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} at {self.organisation})"
