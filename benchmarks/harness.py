"""Shared set-up for the benchmarks: a scratch PostgreSQL database (or SQLite) and Django."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator


def _scratch_database(suffix: str) -> str | None:
    """Point DATABASE_URL at a fresh <name>_<suffix> database; returns its name (PostgreSQL only)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return None
    import psycopg

    base, _, name = url.rpartition("/")
    bench = f"{name}_{suffix}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench}"')
        conn.execute(f'CREATE DATABASE "{bench}"')
    os.environ["DATABASE_URL"] = f"{base}/{bench}"
    return bench


def _drop(bench: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    base = os.environ["DATABASE_URL"].rpartition("/")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench}"')


@contextlib.contextmanager
def django_environment(suffix: str = "bench") -> Iterator[str]:
    """Django set up and migrated on a scratch database, dropped afterwards; yields a description."""
    bench = _scratch_database(suffix)
    if not os.environ.get("CELLPASS_VAR_DIR"):
        os.environ["CELLPASS_VAR_DIR"] = tempfile.mkdtemp(prefix="cellpass-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A benchmark measures its own subject; the RDF projection would re-project every seeded battery
    # in this process. benchmarks/sparql.py rebuilds the store itself.
    os.environ.setdefault("CELLPASS_RDF_SYNC", "off")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    try:
        yield f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}"
    finally:
        if bench:
            _drop(bench)


def make_operator(name: str = "Bench Cells", prefix: str = "4099999"):
    """An economic operator organisation with one user; returns (organisation, token key)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from passport.choices import Role
    from passport.models import Membership, Organisation

    organisation = Organisation.objects.create(
        name=name,
        issuing_agency_code="0",
        company_prefix=prefix,
        street_address="Bench 1",
        postal_code="1000",
        country="DE",
    )
    user = get_user_model().objects.create_user(f"operator-{prefix}")
    Membership.objects.create(user=user, organisation=organisation, role=Role.ECONOMIC_OPERATOR)
    return organisation, Token.objects.create(user=user).key
