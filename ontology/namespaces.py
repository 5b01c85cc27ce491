"""The IRIs every part of the semantic layer agrees on: our vocabulary, the Battery Pass aspect models,
the W3C and QUDT vocabularies we align to, and the named graphs of the RDF projection."""

from __future__ import annotations

from django.conf import settings
from rdflib import Namespace, URIRef

# The vocabulary's IRI is fixed across deployments (w3id.org is the usual permanent-identifier
# redirect service); every deployment also serves it itself at /ns (see docs/ontology.md).
CELLPASS = Namespace("https://w3id.org/cellpass/ns#")
CELLPASS_SHAPES = Namespace("https://w3id.org/cellpass/shapes#")
VOCABULARY_IRI = URIRef("https://w3id.org/cellpass/ns")

PROV = Namespace("http://www.w3.org/ns/prov#")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
QUANTITYKIND = Namespace("http://qudt.org/vocab/quantitykind/")
SAMM = Namespace("urn:samm:org.eclipse.esmf.samm:meta-model:2.1.0#")

# The Battery Pass v1.2 aspect models (SAMM URNs, as in ../shared/conformance/batterypass-1.2/*/*.ttl),
# by passport category.
BATTERYPASS = {
    "GeneralProductInformation": Namespace("urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#"),
    "CarbonFootprint": Namespace("urn:samm:io.BatteryPass.CarbonFootprint:1.2.0#"),
    "Circularity": Namespace("urn:samm:io.BatteryPass.Circularity:1.2.0#"),
    "Labels": Namespace("urn:samm:io.BatteryPass.Labels:1.2.0#"),
    "MaterialComposition": Namespace("urn:samm:io.BatteryPass.MaterialComposition:1.2.0#"),
    "PerformanceAndDurability": Namespace("urn:samm:io.BatteryPass.Performance:1.2.0#"),
    "SupplyChainDueDiligence": Namespace("urn:samm:io.BatteryPass.SupplyChainDueDiligence:1.2.0#"),
}


def base_url() -> str:
    return settings.CELLPASS_BASE_URL


def resource_iri(segment: str, key: object) -> URIRef:
    """The IRI of a stored thing (the same as ``passport.services.identifiers.iri``)."""
    return URIRef(f"{base_url()}/id/{segment}/{key}")
