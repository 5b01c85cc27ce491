from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from passport import views as passport_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("lifecycle.api.urls")),
    path("api/", include("twins.api.urls")),
    path("api/", include("passport.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("p/<path:identifier>", passport_views.qr_landing, name="qr-landing"),
    path("id/<str:segment>/<uuid:key>", passport_views.resolve_iri, name="iri"),
    path("", include("ontology.urls")),
]
