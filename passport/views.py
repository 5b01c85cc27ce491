"""Pages for people: the QR-code landing page and IRI resolution."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
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


# Media types an IRI answers with RDF (built by the ontology app) besides the JSON and HTML documents.
RDF_MEDIA_TYPES = ("text/turtle", "application/ld+json", "application/n-triples")


NEGOTIATED_TYPES = ("application/json", "text/html", *RDF_MEDIA_TYPES)


def _preferred(request: HttpRequest) -> str:
    """The best of JSON, HTML and the RDF media types for the request's Accept header (Django's
    q-value and specificity rules); JSON when nothing fits or nothing is asked for."""
    return request.get_preferred_type(NEGOTIATED_TYPES) or "application/json"


def resolve_iri(request: HttpRequest, segment: str, key: str) -> HttpResponse:
    """Stable IRIs are content-negotiated: JSON (303 to the API resource: the IRI names the thing, not
    the document), HTML (303 to the QR landing page for batteries and passports, else the browsable
    API), Turtle, N-Triples or JSON-LD (200: the RDF the caller's role may see)."""
    if segment not in IRI_TARGETS:
        raise Http404(segment)
    model, route = IRI_TARGETS[segment]
    if isinstance(model, str):
        model = apps.get_model(model)
    instance = model.objects.filter(pk=key).first()
    if instance is None:
        raise Http404(key)
    media = _preferred(request)
    headers = {"Vary": "Accept, Authorization, Cookie"}
    if media == "text/html" and segment in ("battery", "passport"):
        battery = instance if segment == "battery" else instance.battery
        headers["Location"] = reverse("qr-landing", kwargs={"identifier": battery.identifier})
        return HttpResponse(status=303, headers=headers)
    if media not in RDF_MEDIA_TYPES:
        headers["Location"] = reverse(route, kwargs={"pk": key})
        return HttpResponse(status=303, headers=headers)
    # Imported here: the ontology app reads the passport app, not the other way round at import time.
    from ontology.rdf import resources

    user = _api_user(request)
    if segment == "passport" and media == "application/ld+json":
        body = resources.passport_jsonld(instance, access.reading_role(user, instance.battery))
    else:
        triples = resources.triples_of(instance.iri, resources.graphs_for(user))
        if not triples:
            return JsonResponse(
                {
                    "code": "not_visible",
                    "message": f"nothing of this {segment} is visible to your role in the RDF projection",
                },
                status=403,
                headers=headers,
            )
        body = resources.serialise(triples, media)
    return HttpResponse(body, content_type=f"{media}; charset=utf-8", headers=headers)


def _api_user(request: HttpRequest):
    """The caller as the API authenticates it (token or session), so an IRI shows what the API would."""
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    drf = Request(request, authenticators=[auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES])
    try:
        return drf.user
    except Exception:  # a bad token reads as the public
        return AnonymousUser()
