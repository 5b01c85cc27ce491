import json

# RFC 7493 (I-JSON): numbers are IEEE 754 doubles. PostgreSQL's jsonb keeps numbers as
# `numeric` and prints 1.7976931348623157e308 as a 309-digit integer; reading such an integer
# back as a double returns the number that was stored.
_SAFE_INTEGER = 2**53


def _parse_int(text: str) -> int | float:
    value = int(text)
    return value if -_SAFE_INTEGER <= value <= _SAFE_INTEGER else float(text)


class IJSONDecoder(json.JSONDecoder):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parse_int", _parse_int)
        super().__init__(*args, **kwargs)
