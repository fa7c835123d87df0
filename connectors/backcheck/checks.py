"""Health check of a tenant's Backcheck setup, for `manage.py tenants check` and the tenant page.

Answers two questions an operator has before going live: do the client credentials obtain a token,
and does every package in the tenant's catalog exist in Backcheck? The result is plain JSON (the
tenant page stores it) and never carries a secret.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from connectors.backcheck.client import BackcheckClient, BackcheckNotConfigured
from connectors.crypto import DecryptionError
from connectors.http import HttpError
from integration_portal.redaction import redact

if TYPE_CHECKING:
    from connectors.models import Tenant

# Statuses the token endpoint uses for "these credentials are not accepted".
_CREDENTIAL_STATUSES = frozenset({400, 401, 403})


def _failure(
    result: Callable[[str, str], dict[str, Any]], what: str, exc: HttpError
) -> dict[str, Any]:
    """Status code and a fixed explanation; the body of the answer is never shown or logged.

    Messages without a status are the portal's own (connect failures, the outbound address
    rule) and are kept.
    """
    if exc.status is None:
        return result("unreachable", f"Backcheck is unreachable: {exc.message}.")
    if 200 <= exc.status < 300:
        return result("error", f"{what} answered {exc.status} with something it cannot read.")
    if exc.status >= 500 or exc.status == 429:
        return result("unreachable", f"{what} answered {exc.status}: try again later.")
    return result("error", f"{what} answered an unexpected status ({exc.status}).")


def backcheck_check(tenant: Tenant) -> dict[str, Any]:
    catalog = [(package.code, package.name) for package in tenant.packages.order_by("code")]

    def result(status: str, detail: str, found: set[str] | None = None) -> dict[str, Any]:
        return {
            "status": status,
            # Error texts come from the other side; the redaction net masks any secret this
            # process knows, should one ever be echoed back.
            "detail": redact(detail),
            "checked_at": timezone.now().isoformat(),
            "packages": [
                {"code": code, "name": name, "found": code in (found or set())}
                for code, name in catalog
            ],
        }

    try:
        client = BackcheckClient.for_tenant(tenant)
    except BackcheckNotConfigured as exc:
        return result("not_configured", str(exc))
    except DecryptionError as exc:
        return result("error", f"The stored Backcheck credentials cannot be read: {exc}")

    with client:
        try:
            # A fresh token, not a cached one: the point is to prove the stored secret works now.
            client.obtain_token(fresh=True)
        except HttpError as exc:
            if exc.kind == "permanent" and exc.status in _CREDENTIAL_STATUSES:
                return result(
                    "invalid_credentials",
                    f"Backcheck refused the client id and secret ({exc.status}).",
                )
            return _failure(result, "Backcheck's token endpoint", exc)
        try:
            available = {package.id for package in client.list_packages()}
        except HttpError as exc:
            return _failure(result, "Listing Backcheck packages", exc)

    missing = [code for code, _ in catalog if code not in available]
    if missing:
        return result(
            "error",
            "These package codes do not exist in Backcheck: " + ", ".join(missing) + ".",
            available,
        )
    if not catalog:
        return result(
            "ok", "A token was obtained; the tenant has no packages to check yet.", available
        )
    return result(
        "ok", f"A token was obtained and all {len(catalog)} package codes exist.", available
    )
