"""The "Test connection" button: both providers checked with the tenant's stored credentials.

The Lever and Backcheck halves live with their connectors; this combines them, stores the result
and its time on the tenant (shown on the tenant page) and returns it. The same function serves the
tenant page button and `manage.py tenants check`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from connectors.models import Tenant
from connectors.tenants.health import tenant_record_check, tenant_record_lever_names
from integration_portal.redaction import redact

logger = logging.getLogger(__name__)


def _run(name: str, check: Callable[[Tenant], dict[str, Any]], tenant: Tenant) -> dict[str, Any]:
    try:
        result = dict(check(tenant))
    except Exception as exc:
        # A bug or an unexpected failure in one half must still leave a readable result (and
        # the other half checked); the class name is enough, the message could quote a secret.
        logger.exception("%s check of tenant %s failed unexpectedly", name, tenant.slug)
        return {
            "status": "error",
            "detail": f"The {name} check failed unexpectedly ({type(exc).__name__}).",
            "checked_at": timezone.now().isoformat(),
        }
    # The connectors never put a secret in a detail; this is the net under that rule.
    if isinstance(result.get("detail"), str):
        result["detail"] = redact(result["detail"])
    return result


def tenant_check(tenant: Tenant) -> dict[str, Any]:
    """Check Lever and Backcheck; store and return `{"status", "checked_at", "lever", "backcheck"}`.

    `status` is "ok" only when both halves are "ok", otherwise "failed".
    """
    from connectors.backcheck.checks import backcheck_check
    from connectors.lever.checks import lever_check

    lever = _run("Lever", lever_check, tenant)
    names = lever.pop("names", None) or {}
    backcheck = _run("Backcheck", backcheck_check, tenant)
    checked_at = timezone.now()
    ok = lever.get("status") == "ok" and backcheck.get("status") == "ok"
    result = {
        "status": "ok" if ok else "failed",
        "checked_at": checked_at.isoformat(),
        "lever": lever,
        "backcheck": backcheck,
    }
    tenant_record_check(tenant=tenant, result=result, checked_at=checked_at)
    if names.get("stages") or names.get("users"):
        tenant_record_lever_names(
            tenant=tenant, stages=names.get("stages"), users=names.get("users")
        )
    return result
