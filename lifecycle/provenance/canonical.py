"""Canonical JSON (RFC 8785, JCS) of lifecycle records and the SHA-256 hashes over it.

A record's hash must come out the same wherever it is recomputed (the service, an offline verifier,
another language), so the bytes hashed are the JCS form, produced by the ``rfc8785`` library.

Values JCS cannot encode are refused with a ``ValueError`` that names the offending location
(``$.payload.cells[3]``) and the reason, instead of being coerced:

* NaN and +/-infinity (no JSON representation);
* integers outside +/-(2**53 - 1): ``rfc8785`` rejects them (its ``IntegerDomainError``) because
  I-JSON consumers read numbers as IEEE 754 doubles and would silently round them. 2**53 itself
  is refused too. Store such values as strings;
* non-string object keys, strings with lone surrogates, and any type other than
  ``None``/``bool``/``int``/``float``/``str``/``list``/``tuple``/``dict``;
* nesting deep enough to exhaust Python's recursion limit.

Note that JCS serialises floats in their shortest ECMAScript form, so ``1.0`` and ``1`` hash the
same, and a float such as ``1e20`` is written as ``100000000000000000000``.
"""

from __future__ import annotations

import hashlib
import math

import rfc8785

__all__ = ["canonical_bytes", "record_hash", "sha256_hex"]

_INT_LIMIT = 2**53 - 1


def canonical_bytes(obj: object) -> bytes:
    """The RFC 8785 serialisation of ``obj``; ``ValueError`` naming the problem if it has none."""
    try:
        return rfc8785.dumps(obj)  # type: ignore[arg-type]
    except RecursionError:
        raise ValueError("cannot canonicalise: value is nested too deeply") from None
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        where, why = _locate_problem(obj) or ("$", str(exc))
        raise ValueError(f"cannot canonicalise {where}: {why}") from exc


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 (the text form of every hash in records and bundles)."""
    return hashlib.sha256(data).hexdigest()


def record_hash(record: dict) -> str:
    """The hash that identifies a record in its battery's chain and in the Merkle log."""
    return sha256_hex(canonical_bytes(record))


def _locate_problem(obj: object) -> tuple[str, str] | None:
    """Find the first value JCS rejects, for the error message (only runs after a failure)."""
    stack: list[tuple[str, object]] = [("$", obj)]
    while stack:
        path, value = stack.pop()
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not -_INT_LIMIT <= value <= _INT_LIMIT:
                return (
                    path,
                    f"integer {value} is outside the I-JSON range +/-(2**53 - 1); store it as a string",
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                return path, f"{value!r} has no JSON representation"
        elif isinstance(value, str):
            if not _is_utf8_encodable(value):
                return path, "string contains a lone surrogate (not valid Unicode)"
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                if not isinstance(key, str):
                    return path, f"object key {key!r} is a {type(key).__name__}, not a string"
                if not _is_utf8_encodable(key):
                    return path, f"object key {key!r} contains a lone surrogate"
                children.append((f"{path}.{key}", item))
            stack.extend(reversed(children))
        else:
            return path, f"{type(value).__name__} is not a JSON type"
    return None


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
