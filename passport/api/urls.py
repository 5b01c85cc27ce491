from django.urls import path
from rest_framework.routers import DefaultRouter

from passport.api import views

router = DefaultRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("battery-models", views.BatteryModelViewSet, basename="batterymodel")
router.register("batteries", views.BatteryViewSet, basename="battery")
router.register("passports", views.PassportViewSet, basename="passport")
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = [
    path("import/<str:category>/", views.ImportView.as_view(), name="passport-import"),
    *router.urls,
]
