"""Liveness and readiness probes.

Readiness checks the database and the broker itself; apps add their own checks from their
`AppConfig.ready()` with `register_readiness_check` (connectors adds `encryption`), so this base
module never imports an app.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


# name → check returning None when ready, else a short reason (never a secret).
_READINESS_CHECKS: dict[str, Callable[[], str | None]] = {}


def register_readiness_check(name: str, check: Callable[[], str | None]) -> None:
    _READINESS_CHECKS[name] = check


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the class name is enough
        return type(exc).__name__
    return None


def _check_broker() -> str | None:
    from integration_portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
    except Exception as exc:
        return type(exc).__name__
    return None


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "broker": _check_broker()}
    checks.update((name, check()) for name, check in _READINESS_CHECKS.items())
    failing = [name for name, problem in checks.items() if problem]
    body = {name: ("ok" if problem is None else "unavailable") for name, problem in checks.items()}
    if failing:
        body.update(
            error="not_ready",
            detail="Not ready: " + ", ".join(f"{name} ({checks[name]})" for name in failing) + ".",
        )
        return JsonResponse(body, status=503)
    body["status"] = "ready"
    return JsonResponse(body)
