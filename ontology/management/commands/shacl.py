"""manage.py shacl <battery identifier or uuid> [--format text|json]: what the passport still lacks.

Exit code 0 if the battery's passport conforms to the SHACL shape of its battery category (no
mandatory attribute missing), 1 if it does not, 2 if there is no such battery or no passport.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from ontology.shacl import Report, passport_report
from passport.exceptions import NotFound
from passport.services import registry


class Command(BaseCommand):
    help = "Check a battery's passport against the SHACL shapes of the Regulation for its battery category."

    def add_arguments(self, parser) -> None:
        parser.add_argument("battery", help="battery identifier (as on its label) or id (UUID)")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, **options) -> None:
        reference = options["battery"]
        try:
            battery = registry.battery_by_reference(reference)
        except NotFound:
            self.stderr.write(f"shacl: no battery with identifier or id {reference!r}")
            sys.exit(2)
        passport = registry.current_passport(battery)
        if passport is None:
            self.stderr.write(f"shacl: battery {battery.identifier} has no passport")
            sys.exit(2)
        report = passport_report(passport)
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(render_text(report))
        if not report.conforms:
            sys.exit(1)


def render_text(report: Report) -> str:
    verdict = "conforms" if report.conforms else "does not conform"
    lines = [
        f"Passport {report.passport} of battery {report.battery} ({report.battery_category}): {verdict} "
        f"to the Regulation's requirements for {report.battery_category} batteries "
        f"({report.triples} triples, {report.seconds * 1000:.0f} ms).",
    ]
    for title, findings in (
        ("Missing mandatory attributes", report.missing),
        ("Missing optional attributes", report.optional_missing),
    ):
        if not findings:
            continue
        lines.append(f"{title} ({len({f.number for f in findings})}):")
        for finding in findings:
            lines.append(f"  #{finding.number} {finding.name} — {finding.category} {finding.selector}")
    return "\n".join(lines)
