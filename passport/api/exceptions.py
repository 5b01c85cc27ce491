"""One error shape for the whole API: {code, message, errors: [{path, message, row?}]}."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from passport.exceptions import CellpassError


def _flatten(detail, path: str = "") -> list[dict]:
    if isinstance(detail, dict):
        return [e for key, value in detail.items() for e in _flatten(value, f"{path}/{key}")]
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [{"path": path or "/", "message": str(item)} for item in detail]
        return [e for index, item in enumerate(detail) for e in _flatten(item, f"{path}/{index}")]
    return [{"path": path or "/", "message": str(detail)}]


def exception_handler(exc, context):
    if isinstance(exc, CellpassError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        return Response(
            {
                "code": "invalid",
                "message": f"{len(errors)} validation error(s); nothing was written",
                "errors": errors,
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {
            "code": getattr(exc, "default_code", "error"),
            "message": str(response.data["detail"]),
        }
    return response
