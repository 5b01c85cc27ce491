import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lifecycle.provenance.verifier import verify_bundle
from lifecycle.services import bundles
from passport.models import Battery


class Command(BaseCommand):
    help = (
        "Verify a proof bundle offline: record hashes, hash chain, RFC 9162 inclusion and consistency "
        "proofs, "
        "signed tree heads, and the anchor transaction when --rpc-url is given. Takes a bundle file, or "
        "--battery to build one from this database first. The same check runs without Django: "
        "python -m lifecycle.provenance.verifier BUNDLE.json"
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle", nargs="?", type=Path, help="Bundle JSON file (from GET .../proof/)")
        parser.add_argument("--battery", help="Build the bundle of this battery's history (identifier)")
        parser.add_argument("--out", type=Path, help="Also write the built bundle here")
        parser.add_argument("--rpc-url", help="Check the anchor transaction on this EVM JSON-RPC endpoint")
        parser.add_argument(
            "--public-key", help="Expected log public key (base64); default: the bundle's own"
        )

    def handle(self, bundle=None, battery=None, out=None, rpc_url=None, public_key=None, **options):
        if (bundle is None) == (battery is None):
            raise CommandError("give a bundle file or --battery, not both")
        if battery:
            target = Battery.objects.filter(identifier=battery).first()
            if target is None:
                raise CommandError(f"no battery {battery}")
            document = bundles.for_battery(target)
            if document is None:
                raise CommandError(f"nothing recorded for {battery} yet")
            if out:
                out.write_text(json.dumps(document, indent=1))
        else:
            try:
                document = json.loads(bundle.read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {bundle}: {exc}") from exc
        report = verify_bundle(document, rpc_url=rpc_url, trusted_public_key=public_key)
        for check in report.checks:
            mark = "✓" if check.ok else "✗"
            self.stdout.write(f"{mark} {check.name}: {check.detail}")
        if not report.ok:
            raise CommandError(f"bundle does NOT verify: {len(report.failures)} check(s) failed")
        self.stdout.write(self.style.SUCCESS(f"bundle verifies ({len(document['records'])} records)"))
