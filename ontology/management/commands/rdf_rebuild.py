"""``python manage.py rdf_rebuild``: project the whole database into the RDF store from scratch."""

from __future__ import annotations

import pyoxigraph as ox
from django.core.management.base import BaseCommand

from ontology.rdf import store, sync


class Command(BaseCommand):
    help = "Rebuild the RDF projection (every audience graph) from the database."

    def handle(self, *args, **options) -> None:
        path = store.store_path()
        self.stdout.write(f"rebuilding the RDF store at {path} ...")
        # On disk: the store alone, without the in-memory query replicas (this process never queries).
        target = None if path == ":memory:" else store.reset_store(ox.Store(path))
        report = sync.rebuild(target)
        if target is not None:
            target.flush()  # make the new projection durable before reporting
        rate = report.quads / report.seconds if report.seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.batteries} batteries, {report.quads} triples (quads) in {report.seconds:.1f} s "
                f"({rate:,.0f} triples/s)"
            )
        )
