"""``python manage.py aas_export <battery> --format json|xml|aasx -o file``: one battery's AAS."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from ontology.aas import build, export
from passport.choices import Role
from passport.models import Battery


class Command(BaseCommand):
    help = "Export a battery's Asset Administration Shell (shell + submodels) as AAS JSON, XML or AASX."

    def add_arguments(self, parser):
        parser.add_argument("battery", help="battery identifier or uuid")
        parser.add_argument("--format", choices=sorted(export.FORMATS), default="aasx")
        parser.add_argument("-o", "--output", required=True, help="file to write")
        parser.add_argument(
            "--role",
            choices=[r.value for r in Role],
            default=Role.ECONOMIC_OPERATOR.value,
            help="whose view to export (default: the economic operator's, i.e. everything)",
        )

    def handle(self, *args, battery: str, format: str, output: str, role: str, **options):
        queryset = Battery.objects.select_related("model__manufacturer", "operator").prefetch_related(
            "passports"
        )
        try:
            found = queryset.filter(pk=uuid.UUID(battery)).first()
        except ValueError:
            found = queryset.filter(identifier=battery).first()
        if found is None:
            raise CommandError(f"no battery {battery!r}")
        data = export.export([build.view_for(found, role)], format)
        with open(output, "wb") as handle:
            handle.write(data)
        self.stdout.write(f"{output}: {format}, {len(data)} bytes, shell {build.shell_id(found.pk)}")
