"""Liveness and readiness probes."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


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
    failing = [name for name, problem in checks.items() if problem]
    body = {name: ("ok" if problem is None else "unavailable") for name, problem in checks.items()}
    if failing:
        body.update(
            error="not_ready",
            detail="Not ready: " + ", ".join(failing) + " unreachable.",
        )
        return JsonResponse(body, status=503)
    body["status"] = "ready"
    return JsonResponse(body)
