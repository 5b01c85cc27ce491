from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from passport.models import Battery
from passport.services import demo


class Command(BaseCommand):
    help = "Seed the demo fleet (idempotent) and print the API token of each role."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-password", default="cellpass-demo", help="Password of the 'admin' staff user (demo only)"
        )

    def handle(self, *args, admin_password: str, **options):
        access, count = demo.seed()
        # The fleet's history (events, telemetry, a repurposed and a recycled pack) is lifecycle's.
        from lifecycle.services import demo as lifecycle_demo

        records = lifecycle_demo.seed()
        cell = self._calibration_cell(access[0].organisation if access else None)
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", "admin@cellpass.example", admin_password)
        base = settings.CELLPASS_BASE_URL
        pack = Battery.objects.filter(kind="pack").order_by("identifier").first()
        out = self.stdout
        out.write(self.style.SUCCESS(f"Demo fleet: {count} batteries"))
        if records:
            out.write(
                f"  Lifecycle records made: {records} (anchored on chain by the worker within a minute)"
            )
        out.write(f"  API            {base}/api/")
        out.write(f"  API docs       {base}/api/docs/")
        out.write(f"  Admin          {base}/admin/   (admin / {admin_password})")
        if pack:
            out.write(f"  QR landing     {base}/p/{pack.identifier}")
        out.write("Role tokens (send as 'Authorization: Token <key>'; no token = public):")
        for entry in access:
            out.write(f"  {entry.role:<20} {entry.token}   {entry.username} ({entry.organisation})")
        if pack:
            first = access[0].token
            out.write(
                f"Try: curl -H 'Authorization: Token {first}' {base}/api/batteries/{pack.id}/hierarchy/"
            )
            proof = f"{base}/api/batteries/{pack.id}/proof/"
            out.write(f"     curl -H 'Authorization: Token {first}' {proof} > proof.json")
            out.write("     python manage.py verify proof.json")
        if cell:
            calibrate = f"{base}/api/batteries/{cell.id}/physics-calibration/"
            out.write(
                f"     curl -H 'Authorization: Token {access[0].token}' -H 'Content-Type: application/json' "
                f"""-d '{{"budget_s": 60}}' {calibrate}   # then GET it"""
            )
            out.write(
                f"     curl -H 'Authorization: Token {access[0].token}' -H 'Content-Type: application/json' "
                f"""-d '{{"cycles": [1, 2], "budget_s": 60}}' {calibrate}   # 1C and 2C jointly"""
            )

    def _calibration_cell(self, organisation_name: str | None):
        """A cell of the first operator with a measured discharge, for the physics twin's calibration."""
        from twins.services import calibration
        from twins.services import demo as twins_demo

        low, high = calibration.CELL_CAPACITY_RANGE_AH
        cell = (
            Battery.objects.filter(
                kind="cell",
                model__manufacturer__name=organisation_name,
                model__rated_capacity_ah__gte=low,
                model__rated_capacity_ah__lte=high,
                operator__isnull=False,
            )
            .select_related("model", "operator")
            .order_by("identifier")
            .first()
        )
        if cell is not None:
            twins_demo.seed_cell_discharge(cell)
        return cell
