"""The published OpenAPI document is valid and covers every app's endpoints."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_validates_and_lists_lifecycle_endpoints(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    for path in (
        "/api/batteries/{battery_id}/events/",
        "/api/batteries/{battery_id}/telemetry/",
        "/api/events/{id}/proof/",
        "/api/provenance/consistency/",
    ):
        assert path in paths
