"""Loaded with ``-p`` before pytest-django reads the settings (see pyproject's addopts).

A private var/ per run keeps the SQLite test database and the broker spool of one run away
from the demo's and from other runs'; a private queue keeps a running demo worker from taking
the tests' tasks when both share a Redis or RabbitMQ broker.
"""

import os
import tempfile
import uuid

os.environ.setdefault("CELLPASS_VAR_DIR", tempfile.mkdtemp(prefix="cellpass-test-"))
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"cellpass-test-{uuid.uuid4().hex[:8]}")
# The RDF projection follows writes only in the suites that test it (they switch it on); an in-memory
# store keeps the test process and the session's worker from contending for an on-disk one.
os.environ.setdefault("CELLPASS_RDF_SYNC", "off")
os.environ.setdefault("CELLPASS_RDF_STORE", ":memory:")
