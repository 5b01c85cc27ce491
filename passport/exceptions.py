"""Domain errors raised by the services; the API turns them into 400/403/404/409 responses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    path: str  # JSON pointer into the request body (within the row, for bulk requests)
    message: str
    row: int | None = None

    def as_dict(self) -> dict:
        data: dict = {"path": self.path, "message": self.message}
        if self.row is not None:
            data["row"] = self.row
        return data


class CellpassError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, errors: list[FieldError] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def as_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class ValidationFailed(CellpassError):
    status_code = 400
    code = "invalid"

    def __init__(self, errors: list[FieldError], message: str | None = None):
        rows = {e.row for e in errors if e.row is not None}
        summary = message or (
            f"{len(errors)} validation error(s) in {len(rows)} row(s); nothing was written"
            if rows
            else f"{len(errors)} validation error(s); nothing was written"
        )
        super().__init__(summary, errors)


class Conflict(CellpassError):
    status_code = 409
    code = "conflict"


class Forbidden(CellpassError):
    status_code = 403
    code = "forbidden"


class NotFound(CellpassError):
    status_code = 404
    code = "not_found"


@dataclass
class ErrorCollector:
    """Gathers every error of a request so the caller gets them all at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, path: str, message: str, row: int | None = None) -> None:
        self.errors.append(FieldError(path, message, row))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
