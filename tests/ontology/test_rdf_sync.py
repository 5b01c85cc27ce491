"""The RDF projection: what goes into which audience graph, and incremental sync == full rebuild."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.choices import EventType
from ontology.namespaces import CELLPASS
from ontology.rdf import store as rdf_store
from ontology.rdf import sync
from passport.choices import PassportCategory, Role
from passport.models import Battery, Passport
from passport.services.content import REGISTRY_MEMBERS
from tests.lifecycle.conftest import T1, post_event, register, second_life_operator  # noqa: F401
from tests.support.fixtures import cell_rows
from tests.support.payloads import maximal_payload
from twins.services import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def memory_store(settings):
    settings.CELLPASS_RDF_STORE = ":memory:"
    settings.CELLPASS_RDF_SYNC = "inline"
    yield rdf_store.reset_store(ox.Store())
    rdf_store.reset_store(ox.Store())


@pytest.fixture
def cells(operator_client, cell_model) -> list[dict]:
    # In service: the full GeneralProductInformation payload needs a service date.
    return register(
        operator_client, [{**row, "put_into_service_at": "2026-04-01T00:00:00Z"} for row in cell_rows(4)]
    )


def fill_passport(client, battery_id: str, categories=tuple(PassportCategory)) -> Passport:
    passport = Passport.objects.get(battery_id=battery_id, state="active")
    for category in categories:
        payload = maximal_payload(category)
        for member in REGISTRY_MEMBERS.get(category, ()):
            payload.pop(member)
        response = client.put(f"/api/passports/{passport.id}/{category.value}/", payload, format="json")
        assert response.status_code == 200, response.json()
    return passport


def assert_replicas_hold_their_graphs(target: rdf_store.Replicated) -> None:
    held = list(target.primary.quads_for_pattern(None, None, None, None))
    for role, replica in target.replicas().items():
        if role.startswith("organisation:"):  # an economic operator's replica
            organisation = role.removeprefix("organisation:")
            graphs = rdf_store.audience_graphs(Role.ECONOMIC_OPERATOR, organisation, target=target)
        else:
            graphs = rdf_store.audience_graphs(role, target=target)
        graphs = {ox.NamedNode(g) for g in graphs}
        expected = {quad for quad in held if quad.graph_name in graphs}
        assert set(replica.quads_for_pattern(None, None, None, None)) == expected, role
        assert set(replica.named_graphs()) <= graphs, role  # no other role's graph, not even empty


def rebuilt() -> set:
    reference = ox.Store()
    sync.rebuild(reference)
    return sync.content_quads(reference)


def test_rebuild_puts_each_view_in_its_graph(operator_client, cells, manufacturer):
    fill_passport(operator_client, cells[0]["id"])
    post_event(operator_client, cells[0]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"})
    report = sync.rebuild()
    assert report.batteries == 4 and report.quads > 100
    target = rdf_store.store()
    battery = ox.NamedNode(Battery.objects.get(pk=cells[0]["id"]).iri)
    registry = ox.NamedNode(rdf_store.registry_graph())
    assert (
        ox.Quad(battery, ox.NamedNode(str(CELLPASS.identifier)), ox.Literal(cells[0]["identifier"]), registry)
        in target
    )
    history = rdf_store.partition_graph("history", manufacturer.pk, manufacturer.pk)
    events = list(
        target.quads_for_pattern(None, ox.NamedNode(str(CELLPASS.battery)), battery, ox.NamedNode(history))
    )
    assert len(events) == 1
    # The public partition holds less of the same passport than the responsible one.
    public = len(
        list(
            target.quads_for_pattern(
                None,
                None,
                None,
                ox.NamedNode(rdf_store.partition_graph("public", manufacturer.pk, manufacturer.pk)),
            )
        )
    )
    full = len(
        list(
            target.quads_for_pattern(
                None,
                None,
                None,
                ox.NamedNode(rdf_store.partition_graph("responsible", manufacturer.pk, manufacturer.pk)),
            )
        )
    )
    assert 0 < public < full
    # Rebuilding twice gives the same quads (the projection is deterministic).
    assert sync.content_quads(target) == rebuilt()


def test_audience_graphs_of_each_role(operator_client, cells, manufacturer, other_manufacturer):
    post_event(operator_client, cells[0]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"})
    sync.rebuild()
    public = rdf_store.audience_graphs(Role.PUBLIC)
    assert not any("/history/" in g or "/responsible/" in g for g in public)
    mine = rdf_store.audience_graphs(Role.ECONOMIC_OPERATOR, manufacturer.pk)
    assert any("/responsible/" in g for g in mine) and not any("/public/" in g for g in mine)
    theirs = rdf_store.audience_graphs(Role.ECONOMIC_OPERATOR, other_manufacturer.pk)
    assert theirs == public
    assert any("/history/" in g for g in rdf_store.audience_graphs(Role.AUTHORITY))


OPERATIONS = st.lists(
    st.sampled_from(
        ["register", "content", "edit", "inspection", "negative", "install", "transfer", "twin", "status"]
    ),
    min_size=2,
    max_size=5,
)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=OPERATIONS, data=st.data())
def test_incremental_sync_equals_full_rebuild(
    operations,
    data,
    django_capture_on_commit_callbacks,
    operator_client,
    manufacturer,
    cells,
    module_model,
    second_life_operator,  # noqa: F811
):
    """Random writes through the API and services; after each, the signals re-project what ``save()``
    wrote and the change scan (the periodic task) the bulk writes. The store must equal a rebuild, and
    its in-memory query replicas (reloaded early here, to take that path too) the role's graphs."""
    target = rdf_store.reset_store(rdf_store.Replicated(ox.Store(), compact_after=20, operator_replicas=2))
    sync.rebuild(target)
    # Both operators' replicas, loaded before the writes: they must follow them like the roles' do.
    target.operator_replica(manufacturer.pk)
    target.operator_replica(second_life_operator.pk)
    for operation in operations:
        ids = list(
            Battery.objects.filter(status="Original", operator=manufacturer).values_list("id", flat=True)
        )
        pick = str(data.draw(st.sampled_from(sorted(ids, key=str)))) if ids else None
        # Commit callbacks run: the model signals re-project what save() wrote (inline mode).
        with django_capture_on_commit_callbacks(execute=True):
            if operation == "register" or pick is None:
                start = Battery.objects.count()
                rows = cell_rows(2, prefix="H", start=start)
                register(
                    operator_client, [{**row, "put_into_service_at": "2026-04-01T00:00:00Z"} for row in rows]
                )
            elif operation == "content":
                category = data.draw(
                    st.sampled_from([PassportCategory.MATERIAL_COMPOSITION, PassportCategory.CIRCULARITY])
                )
                fill_passport(operator_client, pick, [category])
            elif operation == "edit":
                # A changed nested value: the old content node must go (garbage collection), not linger.
                passport = Passport.objects.get(battery_id=pick, state="active")
                for version in range(
                    2
                ):  # two writes, each synced on commit: the first one's node is orphaned
                    payload = maximal_payload(PassportCategory.CIRCULARITY)
                    payload["dismantlingAndRemovalInformation"][0]["mimeType"] = f"text-edited-{version}"
                    url = f"/api/passports/{passport.id}/Circularity/"
                    response = operator_client.put(url, payload, format="json")
                    assert response.status_code == 200, response.json()
            elif operation == "inspection":
                post_event(operator_client, pick, EventType.INSPECTION, {"passed": True, "findings": "ok"})
            elif operation == "negative":
                post_event(
                    operator_client,
                    pick,
                    EventType.NEGATIVE_EVENT,
                    {"kind": "thermal_event", "description": "hot"},
                )
            elif operation == "install":
                module = register(
                    operator_client,
                    [{**cell_rows(1, prefix="HM", start=Battery.objects.count())[0], "model": "VC-M12"}],
                )[0]
                cell = Battery.objects.get(pk=pick)
                if cell.kind == "cell" and not cell.parent_links.filter(removed_at__isnull=True).exists():
                    response = operator_client.post(
                        f"/api/batteries/{module['id']}/components/",
                        {"identifier": cell.identifier, "position": "S1", "installed_at": T1.isoformat()},
                        format="json",
                    )
                    assert response.status_code == 201, response.json()
            elif operation == "transfer":
                response = post_event(
                    operator_client, pick, EventType.OPERATOR_TRANSFER, {"to": str(second_life_operator.pk)}
                )
                assert response.status_code in (201, 409), response.json()
            elif operation == "twin":
                health.assess(Battery.objects.select_related("model", "operator").get(pk=pick))
            elif operation == "status":
                response = post_event(
                    operator_client, pick, EventType.STATUS_CHANGE, {"status": "Repurposed"}
                )
                assert response.status_code in (201, 400, 409), response.json()
        sync.sync_changes(target)  # what the periodic catch-up does after bulk writes
    assert sync.content_quads(target) == rebuilt()
    assert_replicas_hold_their_graphs(target)


def test_changed_content_leaves_no_orphan_nodes(operator_client, cells, django_capture_on_commit_callbacks):
    """Content nodes are shared and content-addressed: replacing a value must remove the old node.
    Each write is synced by the model signals when it commits (inline mode)."""
    target = rdf_store.store()
    sync.rebuild(target)
    passport = Passport.objects.get(battery_id=cells[0]["id"], state="active")
    for version in range(2):
        payload = maximal_payload(PassportCategory.CIRCULARITY)
        payload["dismantlingAndRemovalInformation"][0]["mimeType"] = f"text-edited-{version}"
        url = f"/api/passports/{passport.id}/Circularity/"
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert operator_client.put(url, payload, format="json").status_code == 200
        assert callbacks, "the section write queued a re-projection"
        assert list(target.quads_for_pattern(None, None, ox.Literal(f"text-edited-{version}"), None))
    edited = ox.Literal("text-edited-0")
    assert not list(target.quads_for_pattern(None, None, edited, None))
    assert sync.content_quads(target) == rebuilt()


def test_rdf_rebuild_command_reports_triples(cells, capsys):
    from django.core.management import call_command

    call_command("rdf_rebuild")
    out = capsys.readouterr().out
    assert "4 batteries" in out and "triples" in out
    assert len(sync.content_quads(rdf_store.store())) > 0
