"""Health twin results over the API: thin views over twins.services."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lifecycle.services import policy
from passport.choices import Role
from passport.exceptions import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from passport.services import access, registry
from twins.api.serializers import (
    CalibrationJobSerializer,
    CalibrationRequestSerializer,
    WhatIfRequestSerializer,
    WhatIfRunSerializer,
    twin_run_body,
)
from twins.decisions import routing, warranty
from twins.models import CalibrationJob, TwinRun, WhatIfRun
from twins.services import calibration, health, whatif


class BatteryHealthView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, battery_id) -> Response:
        """The latest health twin run: SoH (capacity, resistance) and RUL with their uncertainty, and the
        lifecycle record that carries it (check it with the battery's proof bundle)."""
        battery = policy.readable_battery(request.user, battery_id)
        run = health.latest(battery)
        if run is None:
            raise NotFound(f"no health twin has run on battery {battery.identifier} yet")
        return Response(twin_run_body(run))


def _float(params, name: str) -> float | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed([FieldError(f"/{name}", "must be a number")]) from None


class HealthSearchView(generics.ListAPIView):
    """Second-life search: batteries whose latest twin run matches SoH, RUL, chemistry and capacity.

    Open to persons with a legitimate interest, authorities and economic operators (the figures are
    attributes the longlist restricts)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(name, OpenApiTypes.NUMBER)
            for name in ("soh_min", "soh_max", "rul_min", "capacity_min_ah", "capacity_max_ah")
        ]
        + [OpenApiParameter("chemistry", OpenApiTypes.STR), OpenApiParameter("route", OpenApiTypes.STR)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        if access.granted_role(request.user) == Role.PUBLIC:
            raise Forbidden("searching health data needs a legitimate interest, authority or operator role")
        params = request.query_params
        # The health twin's runs only: a physics calibration is a twin run too, without SoH or RUL.
        health_runs = TwinRun.objects.filter(model=health.MODEL)
        newest = health_runs.filter(battery=OuterRef("battery"), created_at__gt=OuterRef("created_at"))
        runs = health_runs.filter(~Exists(newest)).select_related("battery__model")
        for name, lookup in (
            ("soh_min", "soh__gte"),
            ("soh_max", "soh__lte"),
            ("rul_min", "rul_cycles__gte"),
            ("capacity_min_ah", "battery__model__rated_capacity_ah__gte"),
            ("capacity_max_ah", "battery__model__rated_capacity_ah__lte"),
        ):
            if (number := _float(params, name)) is not None:
                runs = runs.filter(**{lookup: number})
        if chemistry := params.get("chemistry"):
            runs = runs.filter(battery__model__chemistry__istartswith=chemistry)
        if route := params.get("route"):
            runs = runs.filter(route=route)
        page = self.paginate_queryset(runs.order_by("-soh"))
        return self.get_paginated_response(
            [
                {
                    "battery": str(run.battery_id),
                    "identifier": run.battery.identifier,
                    "chemistry": run.battery.model.chemistry,
                    "rated_capacity_ah": float(run.battery.model.rated_capacity_ah),
                    "soh": run.soh,
                    "soh_std": run.soh_std,
                    "rul_cycles": run.rul_cycles,
                    "rul_threshold": run.rul_threshold,
                    "route": run.route,
                    "residual_value": run.outputs.get("residual_value"),
                    "assessed_at": run.created_at,
                }
                for run in page
            ]
        )


class WarrantyClaimSerializer(serializers.Serializer):
    years = serializers.FloatField(min_value=0)
    soh_floor = serializers.FloatField(min_value=0, max_value=1)
    max_km = serializers.FloatField(required=False, min_value=0)
    max_cycles = serializers.FloatField(required=False, min_value=0)
    max_throughput_kwh = serializers.FloatField(required=False, min_value=0)
    km = serializers.FloatField(required=False, min_value=0, help_text="Odometer reading at the claim")
    claimed_at = serializers.DateTimeField(required=False)


class WarrantyClaimView(APIView):
    @extend_schema(request=WarrantyClaimSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, battery_id) -> Response:
        """Evaluate a warranty claim against the battery's latest twin run; the battery's manufacturer
        or operator only. The answer lists the records it rests on (all in the battery's proof bundle)."""
        battery = registry.get_battery(battery_id)
        if not access.is_responsible(request.user, battery):
            raise Forbidden("only the battery's manufacturer or operator evaluates warranty claims")
        claim = WarrantyClaimSerializer(data=request.data)
        claim.is_valid(raise_exception=True)
        data = claim.validated_data
        run = health.latest(battery)
        if run is None:
            raise Conflict(f"no health twin has run on battery {battery.identifier} yet")
        usage = run.outputs.get("usage", {})
        decision = warranty.evaluate_claim(
            warranty.WarrantyTerms(
                years=data["years"],
                soh_floor=data["soh_floor"],
                max_km=data.get("max_km"),
                max_cycles=data.get("max_cycles"),
                max_throughput_kwh=data.get("max_throughput_kwh"),
            ),
            put_into_service_at=battery.put_into_service_at,
            claimed_at=data.get("claimed_at") or timezone.now(),
            soh=run.soh,
            soh_std=run.soh_std,
            full_cycles=usage.get("full_cycles"),
            throughput_kwh=usage.get("throughput_kwh"),
            km=data.get("km"),
            evidence=[run.record.record_hash, *run.record.payload.get("inputs", [])],
        )
        return Response({**decision.as_dict(), "twin_run": str(run.pk), "twin_record": str(run.record_id)})


class PackHealthView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, battery_id) -> Response:
        """Cell-to-cell (or module-to-module) view of a pack: spread, weakest components, imbalance."""
        battery = policy.readable_battery(request.user, battery_id)
        components = health.components_health(battery)
        return Response(
            {
                "battery": str(battery.pk),
                "spread": routing.spread(components),
                "weak_components": routing.weak_components(components),
                "components": [{"identifier": c.identifier, "soh": c.soh} for c in components],
            }
        )


class WhatIfView(APIView):
    @extend_schema(request=WhatIfRequestSerializer, responses={202: WhatIfRunSerializer})
    def post(self, request: Request, battery_id) -> Response:
        """Queue a what-if run: how each protocol (charge and discharge C-rate, ambient, charge voltage,
        depth of discharge) changes the battery's fade rate and RUL, from short PyBaMM aging simulations
        scaled to the battery's latest RUL forecast. Open to the battery's operator, persons with a
        legitimate interest and authorities. Answers 202 with the job; poll its ``url``."""
        battery = policy.readable_battery(request.user, battery_id)
        body = WhatIfRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            job = whatif.submit(battery, dict(body.validated_data), user=request.user)
        data = WhatIfRunSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class WhatIfRunView(APIView):
    @extend_schema(responses=WhatIfRunSerializer)
    def get(self, request: Request, run_id) -> Response:
        """A what-if job: status (queued, running, succeeded, failed) and its result or error. Readable by
        whoever may read the battery's history."""
        job = WhatIfRun.objects.filter(pk=run_id).first()
        if job is None:
            raise NotFound(f"no what-if run {run_id}")
        policy.readable_battery(request.user, job.battery_id)
        return Response(WhatIfRunSerializer(job, context={"request": request}).data)


class PhysicsCalibrationView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, battery_id) -> Response:
        """The battery's latest physics calibration: fitted parameters with standard errors, the fit's
        voltage and temperature errors, the discharge it was fitted to and the lifecycle record that
        carries it. Readable by whoever may read the battery's history."""
        battery = policy.readable_battery(request.user, battery_id)
        run = calibration.latest(battery)
        if run is None:
            raise NotFound(f"no physics calibration has run on battery {battery.identifier} yet")
        return Response(twin_run_body(run))

    @extend_schema(request=CalibrationRequestSerializer, responses={202: CalibrationJobSerializer})
    def post(self, request: Request, battery_id) -> Response:
        """Queue a calibration of the physics twin (PyBaMM SPMe or DFN; "auto", the default, picks by the
        current profile) to one of the battery's stored discharge cycles (``cycle``, default the latest)
        or jointly to several (``cycles``). Its result is a lifecycle record on the battery, so only the
        battery's economic operator may ask for one.
        Answers 202 with the job; poll its ``url``."""
        battery = policy.readable_battery(request.user, battery_id)
        if access.reading_role(request.user, battery) != Role.ECONOMIC_OPERATOR:
            raise Forbidden(
                "a physics calibration is recorded on the battery: only its economic operator asks"
            )
        body = CalibrationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            job = calibration.submit(battery, dict(body.validated_data), user=request.user)
        data = CalibrationJobSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class PhysicsCalibrationJobView(APIView):
    @extend_schema(responses=CalibrationJobSerializer)
    def get(self, request: Request, job_id) -> Response:
        """A calibration job: status (queued, running, succeeded, failed), its result or error."""
        job = CalibrationJob.objects.select_related("twin_run").filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"no physics calibration job {job_id}")
        policy.readable_battery(request.user, job.battery_id)
        return Response(CalibrationJobSerializer(job, context={"request": request}).data)
