from rest_framework.permissions import SAFE_METHODS, BasePermission

from passport.choices import Role
from passport.services.access import granted_role


class ReadAnyoneWriteOperator(BasePermission):
    """Anyone reads (what they see is filtered per attribute); economic operators write."""

    message = "only an economic operator may register or change batteries"

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return granted_role(request.user) == Role.ECONOMIC_OPERATOR
