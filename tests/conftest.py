"""Test fixtures shared by every suite, and the policy for suites that need services.

``make test`` passes on the embedded defaults (SQLite, filesystem broker) and reports which
suites it skipped. With CELLPASS_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails
the run instead of skipping.
"""

from __future__ import annotations

import pytest

from tests.support.services import SKIPPED_SUITES, check_required_services, require_services

pytest_plugins = ["tests.support.fixtures", "tests.support.worker"]


def pytest_sessionstart(session):
    check_required_services()


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            if require_services():
                item.fail_missing_service = "PostgreSQL (DATABASE_URL is not a postgres:// URL)"
            else:
                reason = "needs PostgreSQL: set DATABASE_URL=postgres://..."
                SKIPPED_SUITES.setdefault("postgres", set()).add(reason)
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item):
    missing = getattr(item, "fail_missing_service", None)
    if missing:
        pytest.fail(f"CELLPASS_REQUIRE_SERVICES=1 but {missing} is not available", pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if not SKIPPED_SUITES:
        terminalreporter.write_line("cellpass: no suites skipped (all services available)")
        return
    terminalreporter.section("cellpass: skipped suites")
    reasons = [_skip_reason(report) for report in terminalreporter.stats.get("skipped", [])]
    for suite, suite_reasons in sorted(SKIPPED_SUITES.items()):
        count = sum(reason in suite_reasons for reason in reasons)
        terminalreporter.write_line(f"{suite}: {count} test(s) skipped")


def _skip_reason(report) -> str:
    # A skip's longrepr is (path, line, "Skipped: <reason>").
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")
