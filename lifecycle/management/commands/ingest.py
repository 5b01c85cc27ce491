from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from lifecycle.services import telemetry
from passport.exceptions import CellpassError
from passport.models import Battery


class Command(BaseCommand):
    help = "Ingest a telemetry file (CSV, Parquet or NASA PCoE .mat) for a battery, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("battery", help="Battery identifier (or UUID)")
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--format", choices=["csv", "parquet", "nasa-mat"], help="Default: from the extension"
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--start", help="ISO 8601 instant a relative time[s] column counts from")

    def handle(self, battery, path, format=None, no_progress=False, start=None, **options):
        moment = parse_datetime(start) if start else None
        if start and (moment is None or moment.tzinfo is None):
            raise CommandError("--start must be an ISO 8601 date-time with a UTC offset")
        target = Battery.objects.select_related("model", "operator").filter(identifier=battery).first()
        if target is None:
            try:
                target = Battery.objects.select_related("model", "operator").filter(pk=battery).first()
            except Exception:  # not a UUID either
                target = None
        if target is None:
            raise CommandError(f"no battery {battery}")
        if not path.is_file():
            raise CommandError(f"no file {path}")
        size = path.stat().st_size
        with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, disable=no_progress) as bar:

            def progress(done: int) -> None:
                bar.update(max(0, done - bar.n))

            try:
                result = telemetry.ingest(
                    target, path, actor=target.operator, filename=path.name, format=format, progress=progress,
                    start=moment,
                )  # fmt: skip
            except CellpassError as exc:
                details = "\n".join(
                    f"  {e.path}" + (f" (row {e.row})" if e.row is not None else "") + f": {e.message}"
                    for e in exc.errors
                )
                raise CommandError(f"{exc.message}\n{details}".rstrip()) from exc
            bar.update(size - bar.n)
        summary = result.summary()
        verb = "ingested" if result.created else "already stored (same SHA-256), nothing added"
        self.stdout.write(
            f"{path.name}: {verb}: {summary['samples']} samples, {summary['cycles']} cycles, "
            f"sha256 {summary['sha256']}, record {summary['event']}"
        )
        if summary["anomalies"]:
            codes = {}
            for anomaly in summary["anomalies"]:
                codes[anomaly["code"]] = codes.get(anomaly["code"], 0) + 1
            self.stdout.write(
                "anomalies flagged: " + ", ".join(f"{code} x{n}" for code, n in sorted(codes.items()))
            )
