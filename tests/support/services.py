"""What the test run needs from the machine, and what it skipped for lack of it."""

from __future__ import annotations

import os

import pytest

# Suite -> its skips' reasons; the summary counts the skipped tests by them (a module fixture that skips
# runs once for many tests, so counting calls would undercount).
SKIPPED_SUITES: dict[str, set[str]] = {}


def skip_suite(suite: str, reason: str) -> None:
    """Skip the test as part of ``suite`` (reported by name at the end of the run)."""
    SKIPPED_SUITES.setdefault(suite, set()).add(reason)
    pytest.skip(reason)


def require_services() -> bool:
    return os.environ.get("CELLPASS_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def check_required_services() -> None:
    """With CELLPASS_REQUIRE_SERVICES=1, stop the run at once if PostgreSQL or the broker is missing."""
    if not require_services():
        return
    from django.conf import settings
    from django.db import connection

    problems = []
    if connection.vendor != "postgresql":
        problems.append(f"DATABASE_URL must point at PostgreSQL (the engine is {connection.vendor})")
    else:
        # pytest-django blocks the ORM until a test asks for the database; ask the server directly.
        import psycopg

        db = settings.DATABASES["default"]
        try:
            psycopg.connect(
                host=db["HOST"] or "127.0.0.1",
                port=db["PORT"] or 5432,
                user=db["USER"] or None,
                password=db["PASSWORD"] or None,
                dbname="postgres",
                connect_timeout=5,
            ).close()
        except Exception as exc:
            problems.append(f"PostgreSQL is not reachable: {exc}")
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("filesystem://"):
        problems.append("CELERY_BROKER_URL must name a real broker (redis:// or amqp://)")
    else:
        from kombu import Connection

        try:
            with Connection(broker, connect_timeout=5) as conn:
                conn.ensure_connection(max_retries=2)
        except Exception as exc:
            problems.append(f"the Celery broker {broker} is not reachable: {exc}")
    if problems:
        pytest.exit(
            "CELLPASS_REQUIRE_SERVICES=1 and a service is missing:\n  " + "\n  ".join(problems), returncode=3
        )
