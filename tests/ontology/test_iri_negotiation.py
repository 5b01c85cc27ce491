"""Resource IRIs answer JSON (303 to the API), HTML (303 to a page), Turtle, N-Triples and JSON-LD,
each with what the caller's role may see."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef

from lifecycle.choices import EventType
from ontology.namespaces import CELLPASS
from ontology.rdf import sync
from passport.models import Battery
from tests.lifecycle.conftest import post_event
from tests.ontology.test_rdf_sync import cells, fill_passport, memory_store  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(operator_client, cells):  # noqa: F811
    passport = fill_passport(operator_client, cells[0]["id"])
    event = post_event(
        operator_client, cells[0]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"}
    )
    sync.rebuild()
    return {
        "battery": Battery.objects.get(pk=cells[0]["id"]),
        "passport": passport,
        "event": event.json()["id"],
    }


def get(client, path: str, accept: str):
    return client.get(path, HTTP_ACCEPT=accept)


def predicates(body: bytes, fmt: str) -> set[str]:
    return {str(p) for _, p, _ in Graph().parse(data=body, format=fmt)}


def test_json_and_html_are_redirects(public_client, world):
    battery, passport = world["battery"], world["passport"]
    json_answer = get(public_client, f"/id/battery/{battery.pk}", "application/json")
    assert json_answer.status_code == 303 and json_answer["Location"] == f"/api/batteries/{battery.pk}/"
    assert get(public_client, f"/id/battery/{battery.pk}", "")["Location"] == f"/api/batteries/{battery.pk}/"
    page = get(
        public_client, f"/id/passport/{passport.pk}", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
    )
    assert page.status_code == 303 and page["Location"] == f"/p/{battery.identifier}"
    model = get(public_client, f"/id/battery-model/{battery.model_id}", "text/html")
    assert model.status_code == 303 and model["Location"].startswith("/api/")
    assert get(public_client, f"/id/battery/{passport.pk}", "text/turtle").status_code == 404


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"), ("application/n-triples", "nt")])
def test_battery_as_rdf(public_client, world, accept, fmt):
    battery = world["battery"]
    response = get(public_client, f"/id/battery/{battery.pk}", accept)
    assert response.status_code == 200 and response["Content-Type"].startswith(accept)
    graph = Graph().parse(data=response.content, format=fmt)
    assert (URIRef(battery.iri), CELLPASS.identifier, None) in graph
    assert (URIRef(battery.iri), CELLPASS.hasPassport, URIRef(world["passport"].iri)) in graph


def test_passport_turtle_follows_the_role(
    public_client, authority_client, operator_client, other_operator_client, world
):
    path = f"/id/passport/{world['passport'].pk}"
    seen = {
        name: predicates(get(client, path, "text/turtle").content, "turtle")
        for name, client in {
            "public": public_client,
            "authority": authority_client,
            "operator": operator_client,
            "other": other_operator_client,
        }.items()
    }
    assert seen["operator"] - seen["public"], "the maximal passport has attributes the public may not see"
    assert seen["authority"] - seen["public"] and seen["authority"] <= seen["operator"]
    assert seen["other"] == seen["public"]  # another operator's battery: the public view


def test_passport_json_ld_uses_the_battery_pass_contexts(public_client, operator_client, world):
    path = f"/id/passport/{world['passport'].pk}"
    full = json.loads(get(operator_client, path, "application/ld+json").content)
    public = json.loads(get(public_client, path, "application/ld+json").content)
    assert all(node["@id"] == world["passport"].iri and "@context" in node for node in full["@graph"])
    assert len(public["@graph"]) < len(full["@graph"]) or json.dumps(public) != json.dumps(full)
    # It is real JSON-LD: rdflib turns it into triples about the passport, fewer for the public.
    full_graph = Graph().parse(data=json.dumps(full), format="json-ld")
    public_graph = Graph().parse(data=json.dumps(public), format="json-ld")
    assert (URIRef(world["passport"].iri), None, None) in full_graph
    assert 0 < len(public_graph) < len(full_graph)


def test_event_rdf_is_for_history_readers(public_client, legitimate_interest_client, world):
    path = f"/id/event/{world['event']}"
    assert get(public_client, path, "text/turtle").status_code == 403
    response = get(legitimate_interest_client, path, "application/n-triples")
    assert response.status_code == 200
    triples = list(ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES))
    assert any(t.object == ox.NamedNode(str(CELLPASS.Inspection)) for t in triples)
