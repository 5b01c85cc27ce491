"""The SPARQL endpoint: protocol, formats, read-only, limits, and what each role can reach."""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox
import pytest

from lifecycle.choices import EventType
from ontology import sparql
from ontology.rdf import store as rdf_store
from ontology.rdf import sync
from passport.models import Battery
from tests.lifecycle.conftest import post_event
from tests.ontology.test_rdf_sync import cells, fill_passport, memory_store  # noqa: F401

pytestmark = pytest.mark.django_db

PREFIX = "PREFIX cellpass: <https://w3id.org/cellpass/ns#>\n"
CELLS = PREFIX + "SELECT ?id WHERE { ?b a cellpass:Cell ; cellpass:identifier ?id } ORDER BY ?id"


@pytest.fixture(params=["list", "replica"])
def synced(request, operator_client, cells):  # noqa: F811
    """A filled passport and a negative event, projected into a plain store (every role's query runs
    with the list of its graphs) or into one with replicas (public, legitimate interest and authority
    query theirs)."""
    if request.param == "replica":
        rdf_store.reset_store(rdf_store.Replicated(ox.Store()))
    fill_passport(operator_client, cells[0]["id"])
    post_event(
        operator_client,
        cells[0]["id"],
        EventType.NEGATIVE_EVENT,
        {"kind": "thermal_event", "description": "hot"},
    )
    sync.rebuild()
    return cells


def select(client, query: str, **extra):
    return client.get("/sparql", {"query": query}, HTTP_ACCEPT="application/sparql-results+json", **extra)


def test_get_and_both_posts_give_json_results(public_client, synced):
    body = select(public_client, CELLS).json()
    assert [b["id"]["value"] for b in body["results"]["bindings"]] == sorted(c["identifier"] for c in synced)
    form = public_client.post("/sparql", f"query={CELLS}", content_type="application/x-www-form-urlencoded")
    raw = public_client.post("/sparql", CELLS, content_type="application/sparql-query")
    assert form.status_code == raw.status_code == 200
    assert json.loads(form.content) == json.loads(raw.content) == body


@pytest.mark.parametrize(
    ("accept", "fmt", "media"),
    [
        ("application/sparql-results+xml", None, "application/sparql-results+xml"),
        ("text/csv", None, "text/csv"),
        ("*/*", "tsv", "text/tab-separated-values"),
        ("text/html", "csv", "text/csv"),
    ],
)
def test_result_formats(public_client, synced, accept, fmt, media):
    params = {"query": CELLS, **({"format": fmt} if fmt else {})}
    response = public_client.get("/sparql", params, HTTP_ACCEPT=accept)
    assert response.status_code == 200 and response["Content-Type"].startswith(media)
    text = response.content.decode()
    if media == "text/csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["id"] and len(rows) == 5
    elif media.endswith("xml"):
        assert text.count("<result>") == 4
    else:
        assert text.splitlines()[0] == "?id" and len(text.splitlines()) == 5


def test_construct_gives_turtle(public_client, synced):
    query = (
        PREFIX
        + "CONSTRUCT { ?b cellpass:identifier ?id } WHERE { ?b a cellpass:Cell ; cellpass:identifier ?id }"
    )
    response = public_client.get("/sparql", {"query": query}, HTTP_ACCEPT="text/turtle")
    assert response["Content-Type"].startswith("text/turtle")
    assert len(list(ox.parse(response.content, format=ox.RdfFormat.TURTLE))) == 4


def test_malformed_query_and_updates_are_refused(public_client, synced):
    response = select(public_client, "SELEC ?x WHERE { ?x ?y ?z }")
    assert response.status_code == 400 and response.json()["code"] == "malformed_query"
    assert "error" in response.json()["message"].lower() or "expected" in response.json()["message"].lower()
    insert = public_client.get("/sparql", {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"})
    assert insert.status_code == 400
    update = public_client.post(
        "/sparql", "INSERT DATA { <urn:a> <urn:b> <urn:c> }", content_type="application/sparql-update"
    )
    assert update.status_code == 405
    assert len(list(rdf_store.store().quads_for_pattern(ox.NamedNode("urn:a"), None, None, None))) == 0
    dataset = public_client.get(
        "/sparql", {"query": CELLS, "default-graph-uri": rdf_store.graph("authority")}
    )
    assert dataset.status_code == 400


def test_result_limit_truncates_and_says_so(public_client, synced, settings):
    settings.CELLPASS_SPARQL_MAX_RESULTS = 2
    response = select(public_client, CELLS)
    assert len(response.json()["results"]["bindings"]) == 2
    assert response["Cellpass-Results-Truncated"] == "true" and "truncated at 2" in response["Warning"]


def test_a_long_query_is_cut_off(public_client, cells, settings):  # noqa: F811
    settings.CELLPASS_SPARQL_TIMEOUT_SECONDS = 0.05
    big = ox.Store()
    g = ox.NamedNode(rdf_store.registry_graph())
    big.extend(
        [
            ox.Quad(ox.NamedNode(f"urn:s{i}"), ox.NamedNode("urn:p"), ox.Literal(str(i)), g)
            for i in range(1500)
        ]
    )
    rdf_store.reset_store(big)
    # 1500 x 1500 rows before the first solution: well over 0.05 s, and bounded (about a second), so
    # the abandoned thread ends soon after.
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?p ?y }"
    response = select(public_client, slow)
    assert response.status_code == 503 and response.json()["code"] == "query_timeout"
    assert "0.05 s" in response.json()["message"]
    # The abandoned query ends on its own; wait for its worker slot, so later tests have them all.
    for _ in range(sparql.WORKERS):
        assert sparql._slots.acquire(timeout=30)
    for _ in range(sparql.WORKERS):
        sparql._slots.release()


def _restricted_predicates(operator_client, battery_id) -> set[str]:
    """Predicates of the responsible operator's view that the public view of the same passport lacks."""
    target = rdf_store.store()
    battery = Battery.objects.select_related("model").get(pk=battery_id)
    pair = (battery.model.manufacturer_id, battery.operator_id)
    full = {
        q.predicate.value
        for q in target.quads_for_pattern(
            None, None, None, ox.NamedNode(rdf_store.partition_graph("responsible", *pair))
        )
    }
    public = {
        q.predicate.value
        for q in target.quads_for_pattern(
            None, None, None, ox.NamedNode(rdf_store.partition_graph("public", *pair))
        )
    }
    return full - public


def test_public_role_cannot_reach_a_restricted_attribute(
    public_client,
    legitimate_interest_client,
    authority_client,
    operator_client,
    other_operator_client,
    synced,
):
    restricted = _restricted_predicates(operator_client, synced[0]["id"])
    assert restricted, "the maximal passport has attributes the public may not see"
    counts = {}
    for name, client in {
        "public": public_client,
        "other_operator": other_operator_client,
        "operator": operator_client,
    }.items():
        total = 0
        for predicate in restricted:
            # Every way of naming another graph: plain, FROM, FROM NAMED + GRAPH ?g, GRAPH <g>.
            pattern = f"?s <{predicate}> ?o"
            authority, interest = rdf_store.graph("authority"), rdf_store.graph("legitimate-interest")
            for query in (
                f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}",
                f"SELECT (COUNT(*) AS ?n) FROM <{authority}> WHERE {{ {pattern} }}",
                f"SELECT (COUNT(*) AS ?n) FROM NAMED <{authority}> WHERE {{ GRAPH ?g {{ {pattern} }} }}",
                f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{interest}> {{ {pattern} }} }}",
            ):
                body = select(client, query).json()
                total += int(body["results"]["bindings"][0]["n"]["value"])
        counts[name] = total
    assert counts["public"] == 0 and counts["other_operator"] == 0
    assert counts["operator"] > 0
    replicated = isinstance(rdf_store.store(), rdf_store.Replicated)
    assert rdf_store.audience("public").replicated == replicated
    # History is for history readers only.
    history = PREFIX + "ASK { ?e a cellpass:NegativeEvent }"
    assert select(public_client, history).json()["boolean"] is False
    assert select(legitimate_interest_client, history).json()["boolean"] is True
    assert select(authority_client, history).json()["boolean"] is True
    assert select(other_operator_client, history).json()["boolean"] is False
