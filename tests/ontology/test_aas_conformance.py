"""The official IDTA test tool (aas-test-engines) against the exports and a running server with the
demo fleet: zero failures is the bar."""

from __future__ import annotations

import io
import zipfile

import pytest
from aas_test_engines import api, file
from aas_test_engines.config import CheckApiConfig
from aas_test_engines.http import HttpClient

from lifecycle.services import demo as lifecycle_demo
from ontology.aas import export, repository
from passport.models import Battery
from passport.services import demo as passport_demo

SUITES = [
    "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/SubmodelRepositoryServiceSpecification/SSP-002",
]


def _failures(result) -> list[str]:
    """The lines of every failed (error or critical) leaf of a test result, for the assertion message."""
    lines = []

    def walk(node, trail):
        here = [*trail, node.message]
        if not node.ok() and not node.sub_results:
            lines.append(" > ".join(here[-4:]))
        for child in node.sub_results:
            walk(child, here)

    walk(result, [])
    return lines


def _seed():
    passport_demo.seed()
    lifecycle_demo.seed()


@pytest.mark.django_db(transaction=True)
def test_check_server_passes_both_ssp_002_suites(live_server):
    _seed()
    client = HttpClient(host=f"{live_server.url}/aas/api/v3.0")
    for suite in SUITES:
        result, matrix = api.execute_tests(client, CheckApiConfig(suite=suite))
        failures = _failures(result)
        total_negative = matrix.invalid_rejected + matrix.invalid_accepted
        total_positive = matrix.valid_accepted + matrix.valid_rejected
        print(
            f"{suite.rsplit('/', 2)[-2]}: negative {matrix.invalid_rejected}/{total_negative}, "
            f"positive {matrix.valid_accepted}/{total_positive}"
        )
        assert result.ok(), "\n".join(failures[:40])
        assert matrix.invalid_accepted == 0 and matrix.valid_rejected == 0, "\n".join(failures[:40])
        assert total_positive > 50 and total_negative > 20


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["public", "operator"])
def test_exported_files_pass_check_file(role_user, django_user_model):
    _seed()
    pack = Battery.objects.filter(kind="pack").order_by("identifier").first()
    if role_user == "operator":
        from passport.choices import Role
        from tests.support.fixtures import make_client

        client = make_client(Role.ECONOMIC_OPERATOR, pack.operator)
        user = client.user
    else:
        from django.contrib.auth.models import AnonymousUser

        user = AnonymousUser()
    view = repository.view(user, repository.battery(pack.pk))
    data = {fmt: export.export([view], fmt) for fmt in ("json", "xml", "aasx")}
    for fmt, checker in (
        ("json", file.check_json_file),
        ("xml", file.check_xml_file),
        ("aasx", file.check_aasx_file),
    ):
        stream = io.StringIO(data[fmt].decode()) if fmt == "json" else io.BytesIO(data[fmt])
        result = checker(stream)
        assert result.ok(), f"{fmt}:\n" + "\n".join(_failures(result)[:20])
    names = zipfile.ZipFile(io.BytesIO(data["aasx"])).namelist()
    assert any(name.startswith("aasx/") for name in names)
