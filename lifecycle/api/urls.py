from django.urls import path
from rest_framework.routers import SimpleRouter

from lifecycle.api import views

router = SimpleRouter()
router.register("events", views.EventViewSet, basename="event")
router.register("telemetry-jobs", views.TelemetryJobViewSet, basename="telemetry-job")

urlpatterns = [
    path("batteries/<uuid:battery_id>/events/", views.BatteryEventsView.as_view(), name="battery-events"),
    path("batteries/<uuid:battery_id>/proof/", views.BatteryProofView.as_view(), name="battery-proof"),
    path(
        "batteries/<uuid:battery_id>/telemetry/",
        views.BatteryTelemetryView.as_view(),
        name="battery-telemetry",
    ),
    path("batteries/<uuid:battery_id>/cycles/", views.BatteryCyclesView.as_view(), name="battery-cycles"),
    path("provenance/log/", views.LogView.as_view(), name="provenance-log"),
    path("provenance/anchors/", views.AnchorListView.as_view(), name="provenance-anchors"),
    path("provenance/consistency/", views.ConsistencyView.as_view(), name="provenance-consistency"),
    *router.urls,
]
