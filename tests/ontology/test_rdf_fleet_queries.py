"""Fleet queries on the projection's shape, and the in-memory replicas the endpoint queries.

The projection states a battery's latest SoH on the battery and a passport's content (other than the
registry-owned members) on a content node shared by the passports of a model. The benchmark's queries
for that shape must give the numbers of the database and of the queries they replace (run on the
per-passport shape, rebuilt here by copying each content node onto its passports), for every role;
the replicas must hold exactly each role's graphs, also after incremental syncs and compaction.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from benchmarks.sparql import PREFIXES, materials_query, soh_query
from lifecycle.choices import EventType
from lifecycle.models import LifecycleEvent
from ontology.namespaces import CELLPASS, resource_iri
from ontology.rdf import store as rdf_store
from ontology.rdf import sync
from passport.choices import PassportCategory, Role
from passport.models import Passport
from passport.services import content
from tests.lifecycle.conftest import post_event, second_life_operator  # noqa: F401
from tests.ontology.test_rdf_sync import assert_replicas_hold_their_graphs, cells, memory_store  # noqa: F401
from tests.support.payloads import maximal_payload

pytestmark = pytest.mark.django_db

MATERIALS = PassportCategory.MATERIAL_COMPOSITION
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
# The queries as they were written for the per-passport shape (the benchmark).
PER_PASSPORT_MATERIALS = (
    PREFIXES
    + """SELECT ?name (COUNT(DISTINCT ?p) AS ?passports) (SUM(?mass) AS ?kg) WHERE {
  ?b cellpass:model <%s> ; cellpass:hasPassport ?p .
  ?p mc:batteryMaterials ?m . ?m mc:batteryMaterialName ?name . OPTIONAL { ?m mc:batteryMaterialMass ?mass }
} GROUP BY ?name"""
)
PER_PASSPORT_SOH = (
    PREFIXES
    + """SELECT ?id ?soh WHERE {
  ?b a cellpass:Cell ; cellpass:chemistry "%s" ; cellpass:identifier ?id ; cellpass:latestTwinResult ?r .
  ?r cellpass:stateOfHealth ?soh . FILTER(?soh >= %s && ?soh <= %s) }"""
)


@pytest.fixture(params=["list", "replica"])
def store_kind(request, memory_store):  # noqa: F811
    """Queries over a plain store with the list of a role's graphs, or over the role's replica."""
    rdf_store.reset_store(ox.Store() if request.param == "list" else rdf_store.Replicated(ox.Store()))
    return request.param


def audiences(manufacturer, other_manufacturer) -> dict[str, rdf_store.Audience]:
    return {
        "public": rdf_store.audience(Role.PUBLIC),
        "legitimate_interest": rdf_store.audience(Role.LEGITIMATE_INTEREST),
        "authority": rdf_store.audience(Role.AUTHORITY),
        "operator": rdf_store.audience(Role.ECONOMIC_OPERATOR, manufacturer.pk),
        "other_operator": rdf_store.audience(Role.ECONOMIC_OPERATOR, other_manufacturer.pk),
    }


def per_passport_shape(audience: rdf_store.Audience) -> ox.Store:
    """What ``audience`` sees, in one default graph, with every content node's statements copied onto
    the passports that link it: the shape the projection had before content nodes."""
    flat = ox.Store()
    flat.extend(
        ox.Quad(t.subject, t.predicate, t.object) for t in audience.query("CONSTRUCT WHERE { ?s ?p ?o }")
    )
    link = ox.NamedNode(str(CELLPASS.content))
    node_only = {RDF_TYPE, ox.NamedNode(str(CELLPASS.forModel))}
    copies = [
        ox.Quad(linked.subject, quad.predicate, quad.object)
        for linked in flat.quads_for_pattern(None, link, None, ox.DefaultGraph())
        for quad in flat.quads_for_pattern(linked.object, None, None, ox.DefaultGraph())
        if quad.predicate not in node_only
    ]
    flat.extend(copies)
    return flat


def material_rows(solutions) -> dict[str, tuple[int, float | None]]:
    return {
        row["name"].value: (
            int(row["passports"].value),
            None if row["kg"] is None else float(row["kg"].value),
        )
        for row in solutions
    }


def material(name: str, cas: str, mass: float, component: str, critical: bool) -> dict:
    # Masses exact in binary (xsd:float sums are then exact too).
    return {
        "batteryMaterialName": name,
        "batteryMaterialIdentifier": cas,
        "batteryMaterialMass": mass,
        "batteryMaterialLocation": {"componentName": component, "componentId": f"{component}-1"},
        "isCriticalRawMaterial": critical,
    }


SERIES_MATERIALS = [
    material("Cobalt", "7440-48-4", 1.5, "cathode", True),
    material("Cobalt", "7440-48-4", 0.25, "binder", True),  # one name twice in a list
    material("Lithium", "7439-93-2", 0.75, "cathode", True),
    material("Graphite", "7782-42-5", 2.0, "anode", False),
]
OWN_MATERIALS = [
    material("Cobalt", "7440-48-4", 3.0, "cathode", True),
    material("Manganese", "7439-96-5", 1.25, "cathode", False),
]


@pytest.fixture
def model_fleet(operator_client, cells, cell_model):  # noqa: F811
    """Four cells whose model declares the materials; the first passport declares its own, the second
    overrides another member (its content node differs, its materials do not)."""
    series = maximal_payload(MATERIALS)
    series["batteryMaterials"] = SERIES_MATERIALS
    content.write_model_content(cell_model, MATERIALS, series)
    passports = [Passport.objects.get(battery_id=cell["id"], state="active") for cell in cells]
    for passport, section in (
        (passports[0], {"batteryMaterials": OWN_MATERIALS}),
        (passports[1], {"hazardousSubstances": series["hazardousSubstances"][:1]}),
    ):
        response = operator_client.put(f"/api/passports/{passport.id}/{MATERIALS}/", section, format="json")
        assert response.status_code == 200, response.json()
    sync.rebuild()
    return str(resource_iri("battery-model", cell_model.pk))


def database_materials(model, role: str) -> dict[str, tuple[int, float | None]]:
    """Per material name, over the passports of the model's batteries as ``role`` sees them: how many
    declare it, and their total mass (None when the role sees no mass)."""
    passports: dict[str, set] = {}
    masses: dict[str, list] = {}
    for passport in Passport.objects.filter(battery__model=model):
        for entry in content.role_view(passport, role).get(MATERIALS, {}).get("batteryMaterials", []):
            name = entry["batteryMaterialName"]
            passports.setdefault(name, set()).add(passport.pk)
            masses.setdefault(name, []).append(entry.get("batteryMaterialMass"))
    return {
        name: (len(passports[name]), None if None in masses[name] else float(sum(masses[name])))
        for name in passports
    }


def test_materials_across_a_model_give_the_numbers_of_every_passport(
    store_kind, model_fleet, cell_model, manufacturer, other_manufacturer
):
    roles = {
        "public": Role.PUBLIC,
        "legitimate_interest": Role.LEGITIMATE_INTEREST,
        "authority": Role.AUTHORITY,
        "operator": Role.ECONOMIC_OPERATOR,
        "other_operator": Role.PUBLIC,  # another operator's batteries: the public view
    }
    for name, audience in audiences(manufacturer, other_manufacturer).items():
        assert audience.replicated == (store_kind == "replica")  # operators: replicas of their own
        got = material_rows(audience.query(materials_query(model_fleet)))
        assert got == database_materials(cell_model, roles[name]), name
        before = material_rows(per_passport_shape(audience).query(PER_PASSPORT_MATERIALS % model_fleet))
        assert got == before, name
    full = material_rows(rdf_store.audience(Role.AUTHORITY).query(materials_query(model_fleet)))
    assert full == {
        "Cobalt": (4, 3 * 1.75 + 3.0),
        "Lithium": (3, 3 * 0.75),
        "Graphite": (3, 6.0),
        "Manganese": (1, 1.25),
    }
    # The public sees the critical raw materials by name, not their masses.
    public = material_rows(rdf_store.audience(Role.PUBLIC).query(materials_query(model_fleet)))
    assert public == {"Cobalt": (4, None), "Lithium": (3, None)}


def test_a_model_s_series_content_is_stated_once_per_graph(model_fleet, cells, manufacturer):  # noqa: F811
    target = rdf_store.store()
    authority = ox.NamedNode(rdf_store.role_content_graph(Role.AUTHORITY))
    nodes = list(target.quads_for_pattern(None, ox.NamedNode(str(CELLPASS.forModel)), None, authority))
    # The three passports without own materials: two content nodes (one overrides another member);
    # the first passport's own node; all of the one model.
    assert len(nodes) == 3 and {q.object.value for q in nodes} == {model_fleet}
    links = list(target.quads_for_pattern(None, ox.NamedNode(str(CELLPASS.content)), None, authority))
    assert len(links) == 4 and len({q.object for q in links}) == 3
    # The registry-owned members stay on the passport.
    passport = ox.NamedNode(Passport.objects.get(battery_id=cells[2]["id"]).iri)
    gpi = "urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#"
    on_passport = {q.predicate.value for q in target.quads_for_pattern(passport, None, None, authority)}
    assert f"{gpi}productIdentifier" in on_passport and f"{gpi}manufacturingDate" in on_passport
    assert not any(p.startswith("urn:samm:io.BatteryPass.MaterialComposition") for p in on_passport)


@pytest.fixture
def assessed(manufacturer, cell_model):
    """Five cells with cycling telemetry and a health-twin result each, one of them without any."""
    from benchmarks.fleet_sweep import seed_fleet
    from twins.services import health

    ids = seed_fleet(manufacturer, cell_model, 5, prefix="S", seed=5)
    health.assess_ids(ids[:4])
    sync.rebuild()
    return ids


def latest_soh_in_database(ids) -> dict[str, float]:
    latest = {}
    for record in LifecycleEvent.objects.filter(battery_id__in=ids, type=EventType.TWIN_RESULT).order_by(
        "sequence"
    ):
        value = ((record.payload.get("outputs") or {}).get("soh_capacity") or {}).get("value")
        if value is not None:
            latest[record.battery.iri] = float(value)
    return latest


def test_latest_state_of_health_is_on_the_battery(store_kind, assessed, manufacturer, other_manufacturer):
    expected = latest_soh_in_database(assessed)
    assert len(expected) == 4
    direct = PREFIXES + "SELECT ?b ?soh WHERE { ?b cellpass:latestStateOfHealth ?soh }"
    hop = PREFIXES + "SELECT ?b ?soh WHERE { ?b cellpass:latestTwinResult/cellpass:stateOfHealth ?soh }"
    seen = audiences(manufacturer, other_manufacturer)
    for name in ("legitimate_interest", "authority", "operator"):
        for query in (direct, hop):
            got = {row["b"].value: float(row["soh"].value) for row in seen[name].query(query)}
            assert got == expected, name
        # The benchmark's query gives the rows of the one it replaces, for any range.
        for low, high in ((0.0, 2.0), (0.9, 0.95), (min(expected.values()), max(expected.values()))):
            now = sorted(
                (r["id"].value, r["soh"].value) for r in seen[name].query(soh_query("NMC811", low, high))
            )
            before = sorted(
                (r["id"].value, r["soh"].value)
                for r in seen[name].query(PER_PASSPORT_SOH % ("NMC811", low, high))
            )
            assert now == before, (name, low, high)
        assert len(list(seen[name].query(soh_query("NMC811", 0.0, 2.0)))) == 4
    # Twin results are history: the public and other operators see no SoH, however they ask.
    history = rdf_store.graph(f"history/{manufacturer.pk}/{manufacturer.pk}")
    for name in ("public", "other_operator"):
        for query in (
            f"ASK {{ ?b <{CELLPASS.latestStateOfHealth}> ?soh }}",
            f"ASK {{ GRAPH ?g {{ ?b <{CELLPASS.latestStateOfHealth}> ?soh }} }}",
            f"ASK FROM <{history}> {{ ?b <{CELLPASS.latestStateOfHealth}> ?soh }}",
            f"ASK {{ GRAPH <{history}> {{ ?b <{CELLPASS.stateOfHealth}> ?soh }} }}",
        ):
            assert seen[name].query(query) is not None and not bool(seen[name].query(query)), (name, query)


def test_the_endpoint_shows_the_public_no_state_of_health(public_client, authority_client, assessed):
    rdf_store.reset_store(rdf_store.Replicated(rdf_store.primary()))  # as a deployment opens it
    query = soh_query("NMC811", 0.0, 2.0)
    answers = {
        name: client.get("/sparql", {"query": query}, HTTP_ACCEPT="application/sparql-results+json").json()
        for name, client in {"public": public_client, "authority": authority_client}.items()
    }
    assert answers["public"]["results"]["bindings"] == []
    assert len(answers["authority"]["results"]["bindings"]) == 4


# --- replicas -------------------------------------------------------------------------------------


def test_graph_audiences_agree_with_audience_graphs(
    operator_client,
    cells,  # noqa: F811
    manufacturer,
    second_life_operator,  # noqa: F811
):
    response = post_event(
        operator_client, cells[0]["id"], EventType.OPERATOR_TRANSFER, {"to": str(second_life_operator.pk)}
    )
    assert response.status_code == 201, response.json()
    post_event(operator_client, cells[1]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"})
    target = rdf_store.reset_store(rdf_store.Replicated(ox.Store()))
    sync.rebuild(target)
    names = [name.value for name in target.named_graphs()]
    assert sum("/responsible/" in name for name in names) == 2  # two responsible pairs
    for role in rdf_store.REPLICATED_ROLES:
        graphs = set(rdf_store.audience_graphs(role, target=target))
        for name in names:
            assert (role in rdf_store.graph_audiences(name)) == (name in graphs), (role, name)
    organisations = (manufacturer.pk, second_life_operator.pk)
    for organisation in organisations:
        key = rdf_store.operator_key(organisation)
        graphs = set(rdf_store.audience_graphs(Role.ECONOMIC_OPERATOR, organisation, target=target))
        for name in names:
            assert (key in rdf_store.graph_audiences(name, organisations)) == (name in graphs), (key, name)
    assert rdf_store.audience(Role.ECONOMIC_OPERATOR).store is target.replica(Role.PUBLIC)
    for organisation in organisations:  # each operator queries a replica of its own graphs
        seen = rdf_store.audience(Role.ECONOMIC_OPERATOR, organisation)
        assert seen.replicated and seen.store is target.replica(rdf_store.operator_key(organisation))
    assert_replicas_hold_their_graphs(target)
    # Opening the store again (a process start) loads the same replicas.
    assert_replicas_hold_their_graphs(rdf_store.Replicated(target.primary))


def test_a_replica_is_reloaded_once_removals_outnumber_its_quads():
    target = rdf_store.Replicated(ox.Store(), compact_after=0)
    registry = ox.NamedNode(rdf_store.registry_graph())
    private = ox.NamedNode(rdf_store.partition_graph("responsible", "m", "o"))
    quads = [
        ox.Quad(ox.NamedNode(f"urn:s{i}"), ox.NamedNode("urn:p"), ox.Literal(str(i)), registry)
        for i in range(10)
    ]
    target.extend([*quads, ox.Quad(ox.NamedNode("urn:x"), ox.NamedNode("urn:p"), ox.Literal("x"), private)])
    first = target.replica(Role.AUTHORITY)
    for quad in quads[:5]:
        target.remove(quad)
    assert target.replica(Role.AUTHORITY) is first  # 5 removed, 5 held: kept
    target.extend(quads[:5])
    for quad in quads:
        target.remove(quad)
    assert target.replica(Role.AUTHORITY) is not first  # more removed than held: rebuilt
    assert_replicas_hold_their_graphs(target)
    target.add(quads[0])
    assert_replicas_hold_their_graphs(target)
    target.clear()
    assert all(len(replica) == 0 for replica in target.replicas().values())
    with pytest.raises(AttributeError, match="not replicated"):
        target.update("INSERT DATA { <urn:a> <urn:b> <urn:c> }")


def test_operator_replicas_are_kept_for_the_most_recent_operators_only(
    operator_client,
    cells,  # noqa: F811
    manufacturer,
    second_life_operator,  # noqa: F811
):
    post_event(
        operator_client, cells[0]["id"], EventType.OPERATOR_TRANSFER, {"to": str(second_life_operator.pk)}
    )
    target = rdf_store.Replicated(ox.Store(), operator_replicas=1)
    sync.rebuild(target)
    first = target.operator_replica(manufacturer.pk)
    assert target.operator_replica(manufacturer.pk) is first  # loaded once
    second = target.operator_replica(second_life_operator.pk)
    keys = set(target.replicas())
    assert rdf_store.operator_key(second_life_operator.pk) in keys
    assert rdf_store.operator_key(manufacturer.pk) not in keys  # dropped: least recently used
    # A write after the drop reaches the loaded operator's replica, not the dropped one's.
    post_event(operator_client, cells[0]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"})
    sync.sync_changes(target)
    assert_replicas_hold_their_graphs(target)
    assert second is target.operator_replica(second_life_operator.pk)
    # None kept: operators query the disk store with their list of graphs.
    assert rdf_store.Replicated(target.primary, operator_replicas=0).operator_replica(manufacturer.pk) is None
