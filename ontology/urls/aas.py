"""Routes of the aas part of the semantic layer: the AAS Part 2 API (V3.0) under /aas/api/v3.0/ and
file exports under /aas/export/."""

from django.urls import path, re_path

from ontology.api import aas_views as v

P = v.PREFIX
_MODIFIER = r"(?P<modifier>\$metadata|\$value|\$reference|\$path)"
_SUBMODEL = r"submodels/(?P<sm_id>[^/$][^/]*)(?:/(?P<tail>.+))?$"

urlpatterns = [
    path(f"{P}description", v.DescriptionView.as_view(), name="aas-description"),
    path(f"{P}serialization", v.SerializationView.as_view(), name="aas-serialization"),
    path(f"{P}lookup/shells", v.LookupShellsView.as_view(), name="aas-lookup-shells"),
    path(f"{P}shells", v.ShellsView.as_view(), name="aas-shells"),
    re_path(rf"^{P}shells/\$reference$", v.ShellsView.as_view(reference=True), name="aas-shells-reference"),
    re_path(
        rf"^{P}shells/(?P<aas_id>[^/$][^/]*)/{_SUBMODEL}", v.SubmodelView.as_view(), name="aas-shell-submodel"
    ),
    re_path(
        rf"^{P}shells/(?P<aas_id>[^/$][^/]*)(?:/(?P<tail>.+))?$", v.ShellView.as_view(), name="aas-shell"
    ),
    path(f"{P}submodels", v.SubmodelsView.as_view(), name="aas-submodels"),
    re_path(rf"^{P}submodels/{_MODIFIER}$", v.SubmodelsView.as_view(), name="aas-submodels-modifier"),
    re_path(rf"^{P}{_SUBMODEL}", v.SubmodelView.as_view(), name="aas-submodel"),
    path("aas/export/<uuid:battery_id>", v.ExportView.as_view(), name="aas-export"),
]
