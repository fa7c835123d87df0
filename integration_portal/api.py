"""One JSON error shape for every API response (DESIGN.md §5):
`{"error": "<code>", "detail": "<sentence>", "fields": {"<field>": ["<problem>"]}}`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def error_body(code: str, detail: str, fields: dict[str, list[str]] | None = None) -> dict:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


def error_response(
    code: str, detail: str, status_code: int, fields: dict[str, list[str]] | None = None
) -> Response:
    return Response(error_body(code, detail, fields), status=status_code)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}[{index}]"))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DatabaseError):
        # Never a 4xx for a database outage: the sender must retry.
        logger.warning("database error answering %s", context.get("view").__class__.__name__)
        return error_response(
            "service_unavailable",
            "The database is unavailable; retry later.",
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        names = ", ".join(sorted(fields))
        response.data = error_body("invalid", f"Invalid input: {names}.", fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response.data = error_body(str(exc.default_code), str(detail))
    return response
