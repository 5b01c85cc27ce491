"""SHACL shapes of a complete passport per battery category, `passport_report` and `manage.py shacl`."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from rdflib import RDF, Graph, URIRef

from ontology import jsonld
from ontology.shacl import SH, check_content, passport_report
from ontology.shapes import generate
from passport import batterypass
from passport.models import Battery
from passport.services import content
from tests.support.conformance import conformance_file
from tests.support.payloads import maximal_payload

SUBJECT = "https://cellpass.example/id/passport/PP-1"
BATTERY_CATEGORIES = ("ev", "lmt", "industrial", "stationary")
REGISTRY_MEMBERS = set(content.REGISTRY_MEMBERS["GeneralProductInformation"])


def complete_content() -> dict[str, dict]:
    return {category: maximal_payload(category) for category in jsonld.CATEGORIES}


def numbers(findings) -> set[int]:
    return {finding.number for finding in findings}


# --- the shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("battery_category", BATTERY_CATEGORIES)
def test_committed_shapes_are_what_the_longlist_generates(battery_category):
    committed = generate.shapes_file(battery_category).read_text(encoding="utf-8")
    assert generate.render(battery_category) == committed, (
        "regenerate with `python -m ontology.shapes.generate`"
    )


@pytest.mark.parametrize("battery_category", BATTERY_CATEGORIES)
def test_every_path_uses_the_samm_properties_of_the_contexts(battery_category):
    shapes = Graph().parse(generate.shapes_file(battery_category), format="turtle")
    samm = {
        URIRef(term["@id"])
        for c in jsonld.CATEGORIES
        for term in jsonld.context(c).values()
        if isinstance(term, dict)
    }
    paths = list(shapes.objects(None, SH.path))
    assert paths
    for path in paths:
        steps = list(shapes.items(path)) if (path, RDF.first, None) in shapes else [path]
        assert steps and all(step in samm for step in steps), path


def shape_marks(battery_category: str) -> dict[int, str]:
    """Per longlist number, 'violation' or 'warning' as the category's shape has it."""
    shapes = Graph().parse(generate.shapes_file(battery_category), format="turtle")
    marks = {}
    for prop, number in shapes.subject_objects(generate.SHAPES.longlistNumber):
        number = int(number)
        marks[number] = "warning" if shapes.value(prop, SH.severity) == SH.Warning else "violation"
    return marks


def test_shapes_follow_the_longlist_columns_per_battery_category():
    ev, lmt, industrial, stationary = (shape_marks(c) for c in BATTERY_CATEGORIES)
    # State of certified energy (#57) and the capacity threshold for exhaustion (#83): EV only.
    assert ev[57] == ev[83] == "violation" and 57 not in lmt and 83 not in stationary
    # Putting into service (#7) and energy throughput (#81): LMT and stationary, not EV.
    assert lmt[7] == stationary[81] == "violation" and 7 not in ev and 81 not in industrial
    # Evolution of self-discharge (#73): stationary only.
    assert stationary[73] == "violation" and not {73} & (set(ev) | set(lmt) | set(industrial))
    # Remaining capacity (#53): optional (o) for EV and industrial, mandatory (x) for LMT.
    assert ev[53] == industrial[53] == "warning" and lmt[53] == "violation"
    # All 68 attributes marked x everywhere are in every shape.
    marks = generate.requirements()
    everywhere = {n for n, m in marks.items() if all(m.get(c) == "x" for c in BATTERY_CATEGORIES)}
    assert len(everywhere) == 68
    for shape in (ev, lmt, industrial, stationary):
        assert {n for n in everywhere if shape.get(n) == "violation"} == everywhere


def test_an_optional_member_of_a_multi_member_attribute_is_not_required():
    shapes = Graph().parse(generate.shapes_file("ev"), format="turtle")
    selectors = {
        str(shapes.value(p, generate.SHAPES.selector))
        for p in shapes.subjects(generate.SHAPES.longlistNumber, None)
        if int(shapes.value(p, generate.SHAPES.longlistNumber)) == 66
    }
    # #66 is reached by powerCapabilityRatio and by cRate, which the schema (and SAMM) make optional.
    assert selectors == {"/batteryTechicalProperties/powerCapabilityRatio"}


# --- validating content ------------------------------------------------------------------------


@pytest.mark.parametrize("battery_category", BATTERY_CATEGORIES)
def test_maximal_content_conforms_for_every_battery_category(battery_category):
    conforms, findings, triples = check_content(complete_content(), SUBJECT, battery_category)
    assert conforms and findings == [], [f.message for f in findings]
    assert triples > 250


def test_missing_member_is_named_with_its_longlist_number_and_path():
    payloads = complete_content()
    del payloads["PerformanceAndDurability"]["batteryTechicalProperties"]["ratedCapacity"]
    conforms, findings, _ = check_content(payloads, SUBJECT, "ev")
    assert not conforms
    (finding,) = findings
    assert (finding.number, finding.name, finding.category) == (
        52,
        "Rated capacity",
        "PerformanceAndDurability",
    )
    assert finding.selector == "/batteryTechicalProperties/ratedCapacity"
    assert finding.path == "batteryTechicalProperties / ratedCapacity"
    assert finding.severity == "violation" and "mandatory for electric vehicle" in finding.message


def test_list_items_are_told_apart_by_their_discriminator():
    payloads = complete_content()
    payloads["Labels"]["labels"] = [
        label for label in payloads["Labels"]["labels"] if label["labelingSubject"] != "HazardousMaterial"
    ]
    payloads["Circularity"]["recycledContent"] = [
        item for item in payloads["Circularity"]["recycledContent"] if item["recycledMaterial"] != "Lead"
    ]
    conforms, findings, _ = check_content(payloads, SUBJECT, "industrial")
    assert not conforms
    assert numbers(findings) == {13, 43, 47}  # hazardous-material label; recycled lead pre/post-consumer


def test_optional_attribute_missing_is_a_warning_that_keeps_conformance():
    payloads = complete_content()
    del payloads["SupplyChainDueDiligence"]["thirdPartyAussurances"]  # #29: o in every column
    conforms, findings, _ = check_content(payloads, SUBJECT, "lmt")
    assert conforms
    assert [(f.number, f.severity) for f in findings] == [(29, "warning")]


def test_same_content_differs_by_battery_category():
    payloads = complete_content()
    del payloads["PerformanceAndDurability"]["batteryCondition"]["stateOfCertifiedEnergy"]  # #57
    del payloads["PerformanceAndDurability"]["batteryCondition"]["energyThroughput"]  # #81
    ev = check_content(copy.deepcopy(payloads), SUBJECT, "ev")
    lmt = check_content(copy.deepcopy(payloads), SUBJECT, "lmt")
    assert not ev[0] and numbers(ev[1]) == {57}
    assert not lmt[0] and numbers(lmt[1]) == {81}


def test_conformance_samples_lack_what_they_do_not_carry():
    payloads = {
        category: json.loads(conformance_file(category, "sample-payload.json").read_text(encoding="utf-8"))
        for category in jsonld.CATEGORIES
    }
    conforms, findings, _ = check_content(payloads, SUBJECT, "lmt")
    missing = {f.number for f in findings if f.severity == "violation"}
    assert not conforms
    # The Labels sample has only the separate-collection symbol.
    assert {13, 15} <= missing and 12 not in missing
    # It does have the identification data.
    assert not {1, 2, 9, 10} & missing


def test_demo_fleet_content_conforms_for_its_battery_category():
    """The demo's model and battery content (passport/demo_content.py), as the registry completes it."""
    import random

    from passport.demo_content import DEMO_MODELS, battery_content, model_content

    contact = {
        "contactName": "Voltora Cells GmbH",
        "identifier": "04012345",
        "postalAddress": {"addressCountry": "DE", "postalCode": "38440", "streetAddress": "Werkstr. 1"},
    }
    as_of = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    for spec in DEMO_MODELS:
        payloads = model_content(spec, "Voltora Cells GmbH")
        condition = battery_content(spec, random.Random(7), cycles=0, age_days=0, as_of=as_of)
        payloads["PerformanceAndDurability"] = {
            **payloads.get("PerformanceAndDurability", {}),
            **condition["PerformanceAndDurability"],
        }
        payloads["GeneralProductInformation"].update(
            productIdentifier="04012345X1",
            batteryPassportIdentifier="urn:cellpass:0123456789abcdef",
            batteryCategory=spec.category,
            batteryStatus="Original",
            manufacturingDate="2026-01-05T08:00:00Z",
            puttingIntoService="2026-02-01T08:00:00Z",
            batteryMass=1.5,
            manufacturerInformation=contact,
            operatorInformation=contact,
        )
        conforms, findings, _ = check_content(payloads, SUBJECT, spec.category)
        assert conforms and findings == [], (spec.model_number, [f.message for f in findings])


def test_an_empty_list_counts_as_given():
    payloads = complete_content()
    payloads["PerformanceAndDurability"]["batteryCondition"]["negativeEvents"] = []  # none so far
    assert check_content(payloads, SUBJECT, "stationary")[:2] == (True, [])
    del payloads["PerformanceAndDurability"]["batteryCondition"]["negativeEvents"]
    conforms, findings, _ = check_content(payloads, SUBJECT, "stationary")
    assert not conforms and numbers(findings) == {91, 92, 93}


# --- passports in the database -----------------------------------------------------------------


def make_complete(battery: Battery) -> None:
    model = battery.model
    payloads = complete_content()
    general = payloads["GeneralProductInformation"]
    for member in REGISTRY_MEMBERS:
        general.pop(member, None)
    for category, payload in payloads.items():
        content.write_model_content(model, category, payload)
    battery.put_into_service_at = battery.manufactured_at + dt.timedelta(days=10)
    battery.save(update_fields=["put_into_service_at"])
    model.mass_kg = Decimal("0.069")
    model.save(update_fields=["mass_kg"])


def passport_of(battery_id) -> object:
    battery = Battery.objects.select_related("model").get(pk=battery_id)
    return battery.passports.get()


@pytest.mark.django_db
def test_freshly_registered_battery_names_what_it_lacks(cells):
    report = passport_report(passport_of(cells[0]["id"]))
    assert not report.conforms and report.battery_category == "ev"
    missing = report.missing_numbers
    # Registry members are there (passport id, battery id, category, status, manufacturing date) ...
    assert not {1, 2, 6, 9, 11} & missing
    # ... content nobody has written yet is not.
    assert {17, 18, 19, 31, 36, 52, 57, 77} <= missing
    rated_capacity = next(f for f in report.missing if f.number == 52)
    assert rated_capacity.category == "PerformanceAndDurability" and rated_capacity.name == "Rated capacity"
    assert report.triples > 0 and report.seconds < 5


@pytest.mark.django_db
def test_completed_passport_conforms(cells):
    battery = Battery.objects.select_related("model").get(pk=cells[0]["id"])
    make_complete(battery)
    report = passport_report(passport_of(battery.pk))
    assert report.conforms, [f.message for f in report.missing]
    assert report.missing == [] and report.optional_missing == []


@pytest.mark.django_db
def test_manage_shacl_exit_codes_and_output(cells):
    battery = Battery.objects.select_related("model").get(pk=cells[0]["id"])
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("shacl", battery.identifier, stdout=out)
    assert exit_info.value.code == 1
    text = out.getvalue()
    assert "does not conform" in text and "#52 Rated capacity" in text and "PerformanceAndDurability" in text

    make_complete(battery)
    out = StringIO()
    call_command("shacl", str(battery.pk), "--format", "json", stdout=out)  # returns: exit code 0
    document = json.loads(out.getvalue())
    assert (
        document["conforms"] is True
        and document["missing"] == []
        and document["battery"] == battery.identifier
    )

    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("shacl", "no-such-battery", stderr=err)
    assert exit_info.value.code == 2
    assert "no-such-battery" in err.getvalue()


def test_every_longlist_attribute_with_a_mark_has_a_shape_in_its_categories():
    marks = generate.requirements()
    assert set(marks) == set(batterypass.attributes())
    for battery_category in BATTERY_CATEGORIES:
        shaped = set(shape_marks(battery_category))
        expected = {n for n, m in marks.items() if battery_category in m}
        assert shaped == expected, battery_category
