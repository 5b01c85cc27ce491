"""Who may read which attributes of which battery, and who may write it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from passport.choices import Role
from passport.exceptions import Forbidden
from passport.models import Battery, Membership

AnyUser = AbstractBaseUser | AnonymousUser


def membership(user: AnyUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def organisation_id(user: AnyUser):
    member = membership(user)
    return member.organisation_id if member else None


def granted_role(user: AnyUser) -> str:
    """The role a user holds in general, before looking at any particular battery."""
    member = membership(user)
    return member.role if member else Role.PUBLIC


def is_responsible(user: AnyUser, battery: Battery) -> bool:
    """True for the manufacturer and the current operator of ``battery``."""
    member = membership(user)
    if member is None or member.role != Role.ECONOMIC_OPERATOR:
        return False
    return member.organisation_id in (battery.operator_id, battery.model.manufacturer_id)


def reading_role(user: AnyUser, battery: Battery) -> str:
    """The audience ``user`` belongs to for ``battery``'s passport."""
    role = granted_role(user)
    if role == Role.ECONOMIC_OPERATOR:
        return Role.ECONOMIC_OPERATOR if is_responsible(user, battery) else Role.PUBLIC
    return role


def require_operator(user: AnyUser) -> Membership:
    member = membership(user)
    if member is None or member.role != Role.ECONOMIC_OPERATOR:
        raise Forbidden("only an economic operator may register or change batteries")
    return member


def require_write(user: AnyUser, battery: Battery) -> None:
    """Only the battery's current operator writes it (Art. 77(4): responsibility for the passport)."""
    member = require_operator(user)
    if member.organisation_id != battery.operator_id:
        raise Forbidden(f"battery {battery.identifier} is operated by another economic operator")
