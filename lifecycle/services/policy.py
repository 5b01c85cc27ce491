"""Who may read a battery's lifecycle records."""

from __future__ import annotations

from passport.choices import Role
from passport.exceptions import Forbidden
from passport.models import Battery
from passport.services import access, registry

# The history carries attributes the longlist restricts to persons with a legitimate interest
# (negative events, accident data, detailed condition), so the public gets none of it.
HISTORY_READERS = frozenset({Role.LEGITIMATE_INTEREST, Role.AUTHORITY, Role.ECONOMIC_OPERATOR})


def readable_battery(user, battery_id) -> Battery:
    """The battery (404 if unknown) whose history ``user`` may read (403 otherwise)."""
    battery = registry.get_battery(battery_id)
    require_history_reader(user, battery)
    return battery


def require_history_reader(user, battery: Battery) -> str:
    role = access.reading_role(user, battery)
    if role not in HISTORY_READERS:
        raise Forbidden(
            "a battery's lifecycle records are open to persons with a legitimate interest, "
            "authorities and its economic operator"
        )
    return role
