from django.urls import path

from twins.api import views

urlpatterns = [
    path("batteries/<uuid:battery_id>/health/", views.BatteryHealthView.as_view(), name="battery-health"),
    path(
        "batteries/<uuid:battery_id>/health/components/",
        views.PackHealthView.as_view(),
        name="battery-pack-health",
    ),
    path(
        "batteries/<uuid:battery_id>/warranty-claims/",
        views.WarrantyClaimView.as_view(),
        name="warranty-claim",
    ),
    path("health/search/", views.HealthSearchView.as_view(), name="health-search"),
    path("batteries/<uuid:battery_id>/what-if/", views.WhatIfView.as_view(), name="battery-what-if"),
    path("what-if/<uuid:run_id>/", views.WhatIfRunView.as_view(), name="what-if-run"),
    path(
        "batteries/<uuid:battery_id>/physics-calibration/",
        views.PhysicsCalibrationView.as_view(),
        name="battery-physics-calibration",
    ),
    path(
        "physics-calibrations/<uuid:job_id>/",
        views.PhysicsCalibrationJobView.as_view(),
        name="physics-calibration-job",
    ),
]
