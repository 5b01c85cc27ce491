"""Battery identifiers after ISO/IEC 15459 and the IRIs under which records are published."""

from __future__ import annotations

import re

from django.conf import settings

# ISO/IEC 15459-4 unique item identifiers: at most 50 characters from A-Z, 0-9, '-', '.', '/'.
ISO15459_MAX_LENGTH = 50
SERIAL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9\-./]{0,46}$")
# Identifiers imported from other passport systems are kept as they were issued.
EXTERNAL_IDENTIFIER_PATTERN = re.compile(r"^[\x21-\x7e]{1,64}$")


def compose_identifier(issuing_agency_code: str, company_prefix: str, serial_number: str) -> str:
    """Agency code, company prefix and serial concatenated, as ISO/IEC 15459-4 prescribes."""
    return f"{issuing_agency_code}{company_prefix}{serial_number}"


def identifier_problem(issuing_agency_code: str, company_prefix: str, serial_number: str) -> str | None:
    """Why these parts make no valid ISO/IEC 15459 identifier, or None."""
    if not company_prefix:
        return "the registering organisation has no ISO/IEC 15459 company prefix"
    if not SERIAL_PATTERN.match(serial_number):
        return "must be 1-47 characters of A-Z, 0-9, '-', '.', '/' and start with a letter or digit"
    length = len(compose_identifier(issuing_agency_code, company_prefix, serial_number))
    if length > ISO15459_MAX_LENGTH:
        return f"the identifier would be {length} characters; ISO/IEC 15459 allows {ISO15459_MAX_LENGTH}"
    return None


def iri(segment: str, key: object) -> str:
    return f"{settings.CELLPASS_BASE_URL}/id/{segment}/{key}"


def qr_url(identifier: str) -> str:
    """The URL a battery's QR code carries (Art. 77(3)): the landing page of its passport."""
    return f"{settings.CELLPASS_BASE_URL}/p/{identifier}"
