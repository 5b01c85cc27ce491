"""REST API views: thin wrappers over ``passport.services``."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from passport import batterypass
from passport.api.permissions import ReadAnyoneWriteOperator
from passport.api.serializers import (
    BatteryModelSerializer,
    BatterySerializer,
    BatteryUpdateSerializer,
    CompositionSerializer,
    InstallSerializer,
    JobSerializer,
    OrganisationSerializer,
    RemoveSerializer,
)
from passport.choices import PassportCategory
from passport.exceptions import Forbidden, NotFound
from passport.filtersets import BatteryFilterSet, BatteryModelFilterSet
from passport.models import Battery, BatteryModel, BulkRegistrationJob, Organisation, Passport
from passport.services import access, content, hierarchy, imports, jobs, registration, registry
from passport.services.identifiers import qr_url

CATEGORY_PARAMETER = OpenApiParameter(
    "category",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=PassportCategory.values,
    description="Battery Pass v1.2 category",
)
PAYLOAD = OpenApiTypes.OBJECT


def _category(value: str) -> str:
    if value not in PassportCategory.values:
        raise NotFound(f"no Battery Pass category {value!r}; one of {', '.join(PassportCategory.values)}")
    return value


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    filterset_fields = ["name", "company_prefix"]


class BatteryModelViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Battery models (type data). Manufacturers create and edit their own."""

    queryset = BatteryModel.objects.select_related("manufacturer")
    serializer_class = BatteryModelSerializer
    filterset_class = BatteryModelFilterSet
    permission_classes = [ReadAnyoneWriteOperator]

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        member = access.membership(self.request.user)
        context["organisation"] = member.organisation if member else None
        return context

    def perform_create(self, serializer) -> None:
        member = access.require_operator(self.request.user)
        serializer.save(manufacturer=member.organisation)

    def perform_update(self, serializer) -> None:
        member = access.require_operator(self.request.user)
        if serializer.instance.manufacturer_id != member.organisation_id:
            raise Forbidden("a battery model is changed only by its manufacturer")
        with transaction.atomic():
            serializer.save(revision=serializer.instance.revision + 1)

    @extend_schema(parameters=[CATEGORY_PARAMETER], request=PAYLOAD, responses=PAYLOAD)
    @action(detail=True, methods=["get", "put", "patch"], url_path=r"content/(?P<category>[A-Za-z]+)")
    def content(self, request: Request, pk=None, category: str = "") -> Response:
        """Series content of one category: a partial Battery Pass payload shared by the whole series."""
        model = self.get_object()
        category = _category(category)
        if request.method == "GET":
            return Response(model.content.get(category, {}))
        member = access.require_operator(request.user)
        if model.manufacturer_id != member.organisation_id:
            raise Forbidden("a battery model is changed only by its manufacturer")
        stored = content.write_model_content(model, category, request.data, merge=request.method == "PATCH")
        return Response(stored)


class BatteryViewSet(viewsets.ReadOnlyModelViewSet):
    """Batteries: registration, registry record, hierarchy."""

    serializer_class = BatterySerializer
    filterset_class = BatteryFilterSet
    permission_classes = [ReadAnyoneWriteOperator]

    def get_queryset(self):
        return Battery.objects.select_related("model__manufacturer", "operator").prefetch_related("passports")

    @extend_schema(
        request=registration.BatteryRegistration,
        responses={201: BatterySerializer, 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    def create(self, request: Request) -> Response:
        """Register one battery (a pack may come with its modules and cells as `components`)."""
        member = access.require_operator(request.user)
        result = registration.register_one(member.organisation, request.data, user=request.user)
        battery = self.get_queryset().get(pk=result.batteries[0].pk)
        body = self.get_serializer(battery).data
        body["registered"] = result.summary()
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=registration.BulkRegistration,
        parameters=[OpenApiParameter("async", OpenApiTypes.BOOL, description="Run as a background job")],
        responses={
            201: OpenApiTypes.OBJECT,
            202: JobSerializer,
            400: OpenApiTypes.OBJECT,
            409: OpenApiTypes.OBJECT,
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Register up to CELLPASS_BULK_MAX_ROWS batteries at once: all rows are stored, or none."""
        member = access.require_operator(request.user)
        rows = request.data.get("batteries") if isinstance(request.data, dict) else None
        if request.query_params.get("async", "").lower() in {"1", "true", "yes"}:
            job = jobs.submit_bulk_registration(member.organisation, request.user, rows)
            return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        specs = registration.parse_rows(rows, max_rows=settings.CELLPASS_BULK_MAX_ROWS)
        result = registration.register(member.organisation, specs, user=request.user)
        return Response(
            {"created": len(result.batteries), "batteries": result.summary()}, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=BatteryUpdateSerializer, responses=BatterySerializer)
    def partial_update(self, request: Request, pk=None) -> Response:
        """Change registry data the operator owns (the date of putting into service)."""
        battery = self.get_object()
        access.require_write(request.user, battery)
        update = BatteryUpdateSerializer(data=request.data, partial=True)
        update.is_valid(raise_exception=True)
        battery = registry.update_battery(battery, **update.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=battery.pk)).data)

    @extend_schema(
        parameters=[OpenApiParameter("identifier", OpenApiTypes.STR, required=True)],
        responses=BatterySerializer,
    )
    @action(detail=False, methods=["get"])
    def lookup(self, request: Request) -> Response:
        """Find a battery by its identifier, as carried by its QR code."""
        identifier = request.query_params.get("identifier", "")
        battery = self.get_queryset().filter(identifier=identifier).first()
        if battery is None:
            raise NotFound(f"no battery {identifier!r} is registered")
        return Response(self.get_serializer(battery).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="Tree as it was at this moment")
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def hierarchy(self, request: Request, pk=None) -> Response:
        """The components tree (as of now or `at`) and the batteries this one is inside."""
        battery = self.get_object()
        at = (
            serializers.DateTimeField(required=False).to_internal_value(request.query_params["at"])
            if "at" in request.query_params
            else None
        )
        tree = hierarchy.components_at(battery, at)
        return Response(
            {
                "battery": _brief(tree["battery"]),
                "parents": [_brief(b) for b in hierarchy.parent_chain(battery)] if at is None else None,
                "components": [_node(n) for n in tree["components"]],
            }
        )

    @extend_schema(responses=CompositionSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="composition-history")
    def composition_history(self, request: Request, pk=None) -> Response:
        """Every installation into or out of this battery, and of it into others."""
        return Response(CompositionSerializer(hierarchy.history(self.get_object()), many=True).data)

    @extend_schema(request=InstallSerializer, responses={201: CompositionSerializer})
    @action(detail=True, methods=["post"])
    def components(self, request: Request, pk=None) -> Response:
        """Install an existing battery into this one."""
        parent = self.get_object()
        access.require_write(request.user, parent)
        data = _valid(InstallSerializer, request)
        child = _battery_by_identifier(data["identifier"])
        access.require_write(request.user, child)
        link = hierarchy.install(
            parent, child, position=data["position"], at=data.get("installed_at"), reason=data["reason"]
        )
        return Response(CompositionSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RemoveSerializer, responses=CompositionSerializer)
    @action(detail=True, methods=["post"], url_path="components/remove")
    def remove_component(self, request: Request, pk=None) -> Response:
        """Take a component out of this battery; the history keeps the link."""
        parent = self.get_object()
        access.require_write(request.user, parent)
        data = _valid(RemoveSerializer, request)
        child = _battery_by_identifier(data["identifier"])
        current = hierarchy.parent_chain(child)
        if not current or current[0].pk != parent.pk:
            raise NotFound(f"battery {child.identifier} is not installed in {parent.identifier}")
        link = hierarchy.remove(child, at=data.get("removed_at"), reason=data["reason"])
        return Response(CompositionSerializer(link).data)


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _battery_by_identifier(identifier: str) -> Battery:
    battery = Battery.objects.select_related("model").filter(identifier=identifier).first()
    if battery is None:
        raise NotFound(f"no battery {identifier!r} is registered")
    return battery


def _brief(battery: Battery) -> dict:
    return {
        "id": str(battery.id),
        "identifier": battery.identifier,
        "kind": battery.kind,
        "model": battery.model.model_number,
    }


def _node(node: dict) -> dict:
    return {
        **_brief(node["battery"]),
        "position": node["position"],
        "installed_at": node["installed_at"],
        "components": [_node(n) for n in node["components"]],
    }


class PassportViewSet(viewsets.GenericViewSet):
    """Passports: what each reader may see, per the longlist's access column."""

    queryset = Passport.objects.select_related(
        "battery__model__manufacturer", "battery__operator", "issued_by"
    )
    permission_classes = [ReadAnyoneWriteOperator]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def retrieve(self, request: Request, pk=None) -> Response:
        """A passport with every category the reader may see; `withheld_attributes` lists the rest."""
        passport = self.get_object()
        role = access.reading_role(request.user, passport.battery)
        return Response(passport_document(passport, role))

    @extend_schema(parameters=[CATEGORY_PARAMETER], request=PAYLOAD, responses=PAYLOAD)
    @action(detail=True, methods=["get", "put", "patch"], url_path=r"(?P<category>[A-Za-z]+)")
    def category(self, request: Request, pk=None, category: str = "") -> Response:
        """One category as a Battery Pass v1.2 payload (export), or its replacement/merge-patch (write)."""
        passport = self.get_object()
        category = _category(category)
        if request.method == "GET":
            role = access.reading_role(request.user, passport.battery)
            return Response(content.category_view(passport, category, role))
        access.require_write(request.user, passport.battery)
        served = content.write_section(
            passport, category, request.data, user=request.user, merge=request.method == "PATCH"
        )
        return Response(served)


def passport_document(passport: Passport, role: str) -> dict:
    battery = passport.battery
    return {
        "id": str(passport.id),
        "iri": passport.iri,
        "identifier": passport.identifier,
        "state": passport.state,
        "created_at": passport.created_at,
        "issued_by": {"id": str(passport.issued_by_id), "name": passport.issued_by.name},
        "battery": {
            "id": str(battery.id),
            "iri": battery.iri,
            "identifier": battery.identifier,
            "kind": battery.kind,
            "qr_url": qr_url(battery.identifier),
        },
        "role": role,
        "categories": content.role_view(passport, role),
        "withheld_attributes": list(batterypass.withheld_attributes(role)),
    }


class ImportView(APIView):
    """Import one Battery Pass v1.2 category payload for a battery."""

    permission_classes = [ReadAnyoneWriteOperator]

    @extend_schema(
        parameters=[
            CATEGORY_PARAMETER,
            OpenApiParameter(
                "battery",
                OpenApiTypes.STR,
                description="Battery identifier (not for GeneralProductInformation)",
            ),
            OpenApiParameter(
                "model",
                OpenApiTypes.STR,
                description="Model number, when the payload registers a new battery",
            ),
        ],
        request=PAYLOAD,
        responses={200: PAYLOAD, 201: PAYLOAD},
    )
    def post(self, request: Request, category: str) -> Response:
        member = access.require_operator(request.user)
        passport, served, created = imports.import_payload(
            member.organisation,
            _category(category),
            request.data,
            battery=request.query_params.get("battery"),
            model=request.query_params.get("model"),
            user=request.user,
        )
        return Response(
            {"passport": str(passport.id), "battery": passport.battery.identifier, "payload": served},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer

    def get_queryset(self):
        organisation = access.organisation_id(self.request.user)
        return BulkRegistrationJob.objects.filter(organisation_id=organisation)
