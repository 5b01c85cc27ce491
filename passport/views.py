"""Pages for people: the QR-code landing page and IRI resolution."""

from __future__ import annotations

from django.apps import apps
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from passport import batterypass
from passport.api.views import passport_document
from passport.choices import PassportCategory
from passport.models import Battery, BatteryModel, Organisation, Passport
from passport.services import access

IRI_TARGETS = {
    "battery": (Battery, "battery-detail"),
    "passport": (Passport, "passport-detail"),
    "organisation": (Organisation, "organisation-detail"),
    "battery-model": (BatteryModel, "batterymodel-detail"),
    # Other apps' records are named by label so this module does not import their models.
    "event": ("lifecycle.LifecycleEvent", "event-detail"),
}


def qr_landing(request: HttpRequest, identifier: str) -> HttpResponse:
    """Where a battery's QR code leads: its active passport, as much as the reader may see."""
    battery = (
        Battery.objects.select_related("model__manufacturer", "operator")
        .filter(identifier=identifier)
        .first()
    )
    if battery is None:
        raise Http404(f"no battery {identifier}")
    passport = (
        Passport.objects.select_related("battery__model__manufacturer", "battery__operator", "issued_by")
        .filter(battery=battery)
        .order_by("-created_at")
        .first()
    )
    if passport is None:
        raise Http404(f"battery {identifier} has no passport")
    role = access.reading_role(request.user, battery)
    document = passport_document(passport, role)
    if "text/html" not in request.headers.get("Accept", ""):
        return JsonResponse(document)
    attributes = batterypass.attributes()
    labels = dict(PassportCategory.choices)
    return render(
        request,
        "passport/landing.html",
        {
            "battery": battery,
            "passport": passport,
            "document": document,
            "sections": [(labels[c], c, data) for c, data in document["categories"].items()],
            "withheld": [attributes[n] for n in document["withheld_attributes"]],
            "role": role,
        },
    )


def resolve_iri(request: HttpRequest, segment: str, key: str) -> HttpResponse:
    """Stable IRIs dereference to the API resource (303: the IRI names the thing, not the document)."""
    if segment not in IRI_TARGETS:
        raise Http404(segment)
    model, route = IRI_TARGETS[segment]
    if isinstance(model, str):
        model = apps.get_model(model)
    if not model.objects.filter(pk=key).exists():
        raise Http404(key)
    return HttpResponse(status=303, headers={"Location": reverse(route, kwargs={"pk": key})})
