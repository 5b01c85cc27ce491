"""Which battery is in which, now and over time."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from passport.choices import BatteryKind, BatteryStatus
from passport.exceptions import Conflict, ErrorCollector
from passport.models import Battery, Composition


@transaction.atomic
def install(
    parent: Battery, child: Battery, *, position: str = "", at: dt.datetime | None = None, reason: str = ""
) -> Composition:
    """Put ``child`` into ``parent`` from ``at`` on (the caller has checked write access to both)."""
    at = at or timezone.now()
    errors = ErrorCollector()
    if BatteryKind.rank(child.kind) >= BatteryKind.rank(parent.kind):
        errors.add("/child", f"a {child.kind} cannot be a component of a {parent.kind}")
    if parent.status == BatteryStatus.WASTE:
        errors.add("/parent", f"battery {parent.identifier} is waste")
    if child.operator_id != parent.operator_id:
        errors.add("/child", f"battery {child.identifier} is operated by another economic operator")
    errors.raise_if_any()
    current = Composition.objects.select_for_update().filter(child=child, removed_at__isnull=True).first()
    if current is not None:
        raise Conflict(f"battery {child.identifier} is already installed in {current.parent.identifier}")
    try:
        with transaction.atomic():
            return Composition.objects.create(
                parent=parent, child=child, position=position, installed_at=at, reason=reason
            )
    except IntegrityError as exc:
        raise Conflict(f"battery {child.identifier} was installed elsewhere meanwhile") from exc


@transaction.atomic
def remove(child: Battery, *, at: dt.datetime | None = None, reason: str = "") -> Composition:
    """Take ``child`` out of its current parent; the link stays in the history."""
    at = at or timezone.now()
    current = Composition.objects.select_for_update().filter(child=child, removed_at__isnull=True).first()
    if current is None:
        raise Conflict(f"battery {child.identifier} is not installed in any battery")
    if at < current.installed_at:
        errors = ErrorCollector()
        errors.add("/removed_at", f"is before the installation at {current.installed_at.isoformat()}")
        errors.raise_if_any()
    current.removed_at = at
    current.reason = reason or current.reason
    current.save(update_fields=["removed_at", "reason"])
    return current


def components_at(battery: Battery, at: dt.datetime | None = None) -> dict:
    """The tree of ``battery``'s components as it was at ``at`` (default: now), one query per level."""

    def active(queryset):
        if at is None:
            return queryset.filter(removed_at__isnull=True)
        return queryset.filter(installed_at__lte=at).exclude(removed_at__lte=at)

    root = {"battery": battery, "position": "", "components": []}
    level = {battery.id: root}
    while level:
        links = active(Composition.objects.filter(parent_id__in=level)).select_related("child__model")
        next_level = {}
        for link in links.order_by("position", "installed_at"):
            node = {
                "battery": link.child,
                "position": link.position,
                "installed_at": link.installed_at,
                "components": [],
            }
            level[link.parent_id]["components"].append(node)
            next_level[link.child_id] = node
        level = next_level
    return root


def parent_chain(battery: Battery) -> list[Battery]:
    """The batteries ``battery`` is currently inside, innermost first."""
    chain, current = [], battery
    seen = {battery.id}
    while True:
        link = (
            Composition.objects.filter(child=current, removed_at__isnull=True)
            .select_related("parent__model")
            .first()
        )
        if link is None or link.parent_id in seen:
            return chain
        chain.append(link.parent)
        seen.add(link.parent_id)
        current = link.parent


def history(battery: Battery):
    """Every installation into or out of ``battery``, and of ``battery`` into others, oldest first."""
    return (
        Composition.objects.filter(Q(parent=battery) | Q(child=battery))
        .select_related("parent", "child")
        .order_by("installed_at", "id")
    )
