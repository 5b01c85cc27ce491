"""REST API views for lifecycle records, telemetry and proofs: thin wrappers over lifecycle.services."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lifecycle.api.serializers import (
    CycleAggregateSerializer,
    EventInputSerializer,
    EventSerializer,
    TelemetryBatchSerializer,
    TelemetryJobSerializer,
    TelemetryUploadSerializer,
)
from lifecycle.choices import AnchorState
from lifecycle.models import (
    Anchor,
    CycleAggregate,
    LifecycleEvent,
    TelemetryBatch,
    TelemetryIngestJob,
    TreeHead,
)
from lifecycle.services import bundles, events, jobs, log, policy, telemetry
from passport.exceptions import FieldError, NotFound, ValidationFailed
from passport.services import access, registry


class BatteryEventsView(generics.GenericAPIView):
    """A battery's lifecycle records in chain order, and recording a new one (its current operator)."""

    serializer_class = EventSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LifecycleEvent.objects.none()
        return events.events_of(self.battery)

    @extend_schema(
        parameters=[OpenApiParameter("type", OpenApiTypes.STR, description="Only events of this type")],
        responses=EventSerializer(many=True),
    )
    def get(self, request: Request, battery_id) -> Response:
        self.battery = policy.readable_battery(request.user, battery_id)
        queryset = self.get_queryset()
        if event_type := request.query_params.get("type"):
            queryset = queryset.filter(type=event_type)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=EventInputSerializer, responses={201: EventSerializer, 400: OpenApiTypes.OBJECT})
    def post(self, request: Request, battery_id) -> Response:
        battery = registry.get_battery(battery_id)
        event = events.record_event(request.user, battery, request.data)
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


class EventViewSet(viewsets.GenericViewSet):
    """One lifecycle record and its proof bundle."""

    queryset = LifecycleEvent.objects.select_related("battery__model", "battery__operator", "actor")
    serializer_class = EventSerializer

    def _event(self, pk) -> LifecycleEvent:
        event = events.get_event(pk)
        policy.require_history_reader(self.request.user, event.battery)
        return event

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(EventSerializer(self._event(pk)).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def proof(self, request: Request, pk=None) -> Response:
        """Proof bundle: the record, its chain back to the battery's first record, inclusion proofs,
        the signed tree head and the latest on-chain anchor. Check it with `manage.py verify`."""
        return Response(bundles.for_event(self._event(pk)))


class BatteryProofView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, battery_id) -> Response:
        """Proof bundle of a battery's whole recorded history."""
        battery = policy.readable_battery(request.user, battery_id)
        bundle = bundles.for_battery(battery)
        if bundle is None:
            raise NotFound(f"nothing has been recorded for battery {battery.identifier} yet")
        return Response(bundle)


class BatteryTelemetryView(generics.GenericAPIView):
    """Telemetry uploads of a battery: list them, or upload a CSV, Parquet or NASA .mat file."""

    serializer_class = TelemetryBatchSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return TelemetryBatch.objects.filter(battery=self.battery).order_by("created_at")

    def get(self, request: Request, battery_id) -> Response:
        self.battery = policy.readable_battery(request.user, battery_id)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": TelemetryUploadSerializer},
        parameters=[OpenApiParameter("async", OpenApiTypes.BOOL, description="Ingest in a background job")],
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 202: TelemetryJobSerializer},
    )
    def post(self, request: Request, battery_id) -> Response:
        """Same bytes twice are stored once: the second upload answers 200 with the first batch."""
        battery = registry.get_battery(battery_id)
        access.require_write(request.user, battery)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed(
                [FieldError("/file", "attach the telemetry file as multipart field 'file'")]
            )
        limit = settings.CELLPASS_TELEMETRY_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise ValidationFailed([FieldError("/file", f"is {upload.size} bytes; the limit is {limit}")])
        file_format = request.data.get("format") or None
        start = _start(request.data.get("start"))
        actor = access.membership(request.user).organisation
        if request.query_params.get("async", "").lower() in {"1", "true", "yes"}:
            with transaction.atomic():
                job = jobs.submit(battery, upload, actor=actor, user=request.user, format=file_format)
            return Response(TelemetryJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        result = telemetry.ingest(
            battery, upload.file, actor=actor, user=request.user, filename=upload.name, format=file_format,
            start=start,
        )  # fmt: skip
        return Response(
            result.summary(), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


def _start(text: str | None):
    """The instant relative ``time[s]`` columns count from (form field ``start``)."""
    if not text:
        return None
    moment = parse_datetime(text)
    if moment is None or moment.tzinfo is None:
        raise ValidationFailed([FieldError("/start", "must be an ISO 8601 date-time with a UTC offset")])
    return moment


class BatteryCyclesView(generics.ListAPIView):
    """Per-cycle aggregates computed from a battery's telemetry."""

    serializer_class = CycleAggregateSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CycleAggregate.objects.none()
        battery = policy.readable_battery(self.request.user, self.kwargs["battery_id"])
        queryset = CycleAggregate.objects.filter(battery=battery).order_by("started_at", "cycle_index")
        if kind := self.request.query_params.get("kind"):
            queryset = queryset.filter(kind=kind)
        return queryset


class TelemetryJobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TelemetryJobSerializer

    def get_queryset(self):
        organisation = access.organisation_id(self.request.user)
        return TelemetryIngestJob.objects.filter(actor_id=organisation)


class LogView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """The log's identity and public key, its size, the latest signed tree head and anchor."""
        head = log.latest_tree_head()
        anchor = Anchor.objects.select_related("tree_head").filter(state=AnchorState.CONFIRMED).first()
        return Response(
            {
                **bundles.log_description(),
                "size": log.current_size(),
                "tree_head": head.as_signed() if head else None,
                "anchor": _anchor(anchor) if anchor else None,
            }
        )


def _anchor(anchor: Anchor) -> dict:
    return {
        "tree_size": anchor.tree_head.tree_size,
        "chain_id": anchor.chain_id,
        "tx_hash": anchor.tx_hash,
        "block_number": anchor.block_number,
        "block_hash": anchor.block_hash,
        "gas_used": anchor.gas_used,
        "confirmed_at": anchor.confirmed_at,
    }


class AnchorListView(generics.ListAPIView):
    def get_queryset(self):
        return Anchor.objects.select_related("tree_head").filter(state=AnchorState.CONFIRMED)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_anchor(anchor) for anchor in page])


class ConsistencyView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("first", OpenApiTypes.INT, required=True),
            OpenApiParameter("second", OpenApiTypes.INT, required=True),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        """RFC 9162 consistency proof between two signed tree sizes."""
        sizes = {}
        for name in ("first", "second"):
            value = request.query_params.get(name, "")
            if not value.isdigit():
                raise ValidationFailed([FieldError(f"/{name}", "must be a tree size (non-negative integer)")])
            sizes[name] = int(value)
        if not sizes["first"] <= sizes["second"] <= log.current_size():
            raise ValidationFailed([FieldError("/second", "need first <= second <= the log's size")])
        heads = {
            head.tree_size: head.as_signed() for head in TreeHead.objects.filter(tree_size__in=sizes.values())
        }
        proof = log.consistency_proof(sizes["first"], sizes["second"])
        return Response({**sizes, "consistency": [node.hex() for node in proof], "tree_heads": heads})
