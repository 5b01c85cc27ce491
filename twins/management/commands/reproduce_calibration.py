from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from twins.models import TwinRun
from twins.services.reproduce import reproduce


class Command(BaseCommand):
    help = (
        "Re-run a recorded physics calibration (a twin run fitted with budget_simulations) from the same "
        "stored discharges and code, and compare every output but the wall time. Exit status 1 if it "
        "differs or cannot be re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("run", help="Twin run id (the calibration job's twin_run)")

    def handle(self, run: str, **options):
        try:
            found = TwinRun.objects.select_related("battery__model").filter(pk=run).first()
        except ValidationError:  # not a UUID
            found = None
        if found is None:
            raise CommandError(f"no twin run {run}")
        outcome = reproduce(found)
        if outcome.reason:
            raise CommandError(outcome.reason)
        for difference in outcome.differences:
            self.stdout.write(f"✗ {difference}")
        if not outcome.reproduced:
            raise CommandError(f"calibration {run} does NOT reproduce ({outcome.wall_s:.1f} s)")
        self.stdout.write(
            self.style.SUCCESS(f"calibration {run} reproduced: every output agrees ({outcome.wall_s:.1f} s)")
        )
