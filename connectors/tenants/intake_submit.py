"""Credential intake: the customer types their Lever credentials into the portal (issue 9).

Before this, the customer's Lever Super Admin mailed the API key and the webhook signature token to
their account manager. Now they open an intake link (connectors/tenants/intake_links.py) and the
portal tests the key against Lever before it stores anything.

Rules kept here, in one place:
- The key is checked with the same Lever check as "Test connection", run on a transient copy of
  the tenant's Lever settings holding the candidate key: nothing is saved before Lever accepts it.
- A key Lever refuses is a failed try; the last allowed one locks the link. The public page's
  POSTs are rate limited per client address and per link.
- Values are never audited, logged or put in an exception.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connectors.crypto import Secret
from connectors.models import IntakeLink, Tenant
from connectors.tenants.audit import record_tenant_action
from connectors.tenants.credentials import clean_secret, tenant_set_secret
from connectors.tenants.intake_links import AUDIT_FIELD, intake_token_digest

logger = logging.getLogger(__name__)

ACTOR_LABEL = "intake link"
# Fixed-window limits on the public page's POSTs (issue 9: e.g. 10 per minute), counted in the
# Django cache so every web process shares them when the cache is Redis.
RATE_LIMIT_POSTS = 10
RATE_LIMIT_WINDOW_S = 60
_RATE_KEY_PREFIX = "intake:rl"
# Lever check statuses that mean "Lever refused this key" (connectors/lever/checks.py). Only these
# count as a failed try: an outage or our own misconfiguration must not lock the customer out.
_KEY_REFUSED = frozenset({"invalid_key", "forbidden", "wrong_account"})
# The two credentials an intake link sets (form field, `tenants set-secret` name, column).
_INTAKE_SECRETS = (
    ("lever_api_key", "lever-api-key", "lever_api_key"),
    ("signature_token", "lever-signature-token", "lever_signature_token"),
)
REPLACE_REFUSED = (
    "This link can only set credentials the tenant does not have yet, and a Lever API key or "
    "signature token is already stored. Replacing them needs a link created by a super-admin: "
    "please ask your account manager. Nothing was stored."
)


class IntakeLinkClosed(Exception):
    """The link is used, expired, revoked or locked; `state` says which."""

    def __init__(self, state: str) -> None:
        super().__init__(f"This intake link is {state}.")
        self.state = state


@dataclass
class IntakeOutcome:
    """What a submission came to. `ok` means both credentials are stored."""

    ok: bool
    state: str
    # Form errors per field ("lever_api_key", "signature_token", "__all__"); never a value.
    errors: dict[str, list[str]] = field(default_factory=dict)
    attempts_left: int = IntakeLink.MAX_FAILED_ATTEMPTS
    # What the key may not read (a 403 on an optional read): stored anyway, shown as a warning.
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _CandidateLever:
    """The attributes `lever_check` and `LeverClient.for_tenant` read, with the candidate key.

    Not a model instance, so nothing can save it by accident.
    """

    slug: str
    lever_base_url: str
    lever_api_key: Secret
    lever_rate_per_s: float
    lever_burst: int
    trigger_stage_ids: list[str]
    note_author_user_id: str


def intake_link_may_replace(link: IntakeLink) -> bool:
    """Whether the link may replace stored credentials, not only set missing ones.

    Per the role table only super-admins replace credentials: a link inherits the right from
    its creator, a super-admin now or the operator's command line. A link an account manager
    created only fills in what is missing.
    """
    creator = link.created_by
    if creator is None:
        return link.created_by_label == "cli"
    return bool(creator.is_active and creator.is_superuser)


def _replaces_stored(tenant: Tenant) -> bool:
    return any(getattr(tenant, column) is not None for _, _, column in _INTAKE_SECRETS)


@sensitive_variables("api_key", "candidate")
def _check_candidate_key(tenant: Tenant, api_key: str) -> dict[str, Any]:
    from connectors.lever.checks import lever_check

    candidate = _CandidateLever(
        slug=tenant.slug,
        lever_base_url=tenant.lever_base_url,
        lever_api_key=Secret(api_key),
        lever_rate_per_s=float(tenant.lever_rate_per_s),
        lever_burst=int(tenant.lever_burst),
        trigger_stage_ids=list(tenant.trigger_stage_ids or []),
        note_author_user_id=tenant.note_author_user_id or "",
    )
    return lever_check(candidate)


@sensitive_variables("api_key", "signature_token")
def intake_link_submit(
    *,
    link: IntakeLink,
    api_key: str,
    signature_token: str,
    ip: str | None,
    now: datetime | None = None,
) -> IntakeOutcome:
    """Test the key against Lever, then store both secrets and close the link.

    Raises IntakeLinkClosed when the link is not open (before or after the Lever check — a
    concurrent submission or a revoke may win the race). A key Lever refuses is a failed try;
    the last allowed failure locks the link (the outcome's state says "locked").
    """
    now = now or timezone.now()
    link.refresh_from_db()
    state = link.state_at(now)
    if state != IntakeLink.OPEN:
        raise IntakeLinkClosed(state)

    may_replace = intake_link_may_replace(link)
    if not may_replace and _replaces_stored(link.tenant):
        # Not the customer's mistake and nothing reached Lever: not a counted try.
        return IntakeOutcome(False, state, {"__all__": [REPLACE_REFUSED]}, link.attempts_left)

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for form_field, name, value in (
        ("lever_api_key", "lever-api-key", api_key),
        ("signature_token", "lever-signature-token", signature_token),
    ):
        try:
            cleaned[form_field] = clean_secret(name, value)
        except ValidationError as exc:
            # clean_secret's messages never repeat the value.
            errors[form_field] = [str(m) for m in exc.message_dict.get("value", exc.messages)]
    if errors:
        # A malformed value never reached Lever and reveals nothing: not a counted try.
        return IntakeOutcome(False, state, errors, link.attempts_left)

    tenant = link.tenant
    check = _check_candidate_key(tenant, cleaned["lever_api_key"])
    if check.get("status") == "ok" and check.get("permissions", {}).get("stages") == "ok":
        # A working key of another Lever account would break every trigger: the tenant's
        # stages must exist in the key's account. A key that may not read stages (403) cannot
        # be checked that way; it is stored with the check's warning.
        unknown = [s["id"] for s in check.get("stages") or [] if not s.get("known")]
        if unknown:
            check = {
                "status": "wrong_account",
                "detail": "its Lever account has no stage "
                + ", ".join(unknown[:5])
                + " (this tenant's trigger stages), so it looks like a key of another Lever "
                "account.",
            }
    if check.get("status") != "ok":
        return _record_refusal(link, check, ip, now)

    with transaction.atomic():
        locked = (
            IntakeLink.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=link.pk)
        )
        state = locked.state_at(now)
        if state != IntakeLink.OPEN:
            raise IntakeLinkClosed(state)
        if not may_replace and _replaces_stored(
            Tenant.objects.select_for_update().get(pk=locked.tenant_id)
        ):
            # Set by someone else while Lever was being asked.
            return IntakeOutcome(False, state, {"__all__": [REPLACE_REFUSED]}, link.attempts_left)
        tenant_set_secret(
            tenant=locked.tenant,
            actor=ACTOR_LABEL,
            name="lever-api-key",
            value=cleaned["lever_api_key"],
        )
        tenant_set_secret(
            tenant=locked.tenant,
            actor=ACTOR_LABEL,
            name="lever-signature-token",
            value=cleaned["signature_token"],
        )
        locked.used_at = now
        locked.used_ip = ip or None
        locked.save(update_fields=["used_at", "used_ip"])
        record_tenant_action(
            locked.tenant,
            ACTOR_LABEL,
            "intake_link_used",
            AUDIT_FIELD,
            f"link #{locked.pk} created by {locked.created_by_label} used from "
            f"{ip or 'an unknown address'}; Lever API key and signature token stored",
        )
        transaction.on_commit(lambda: _notify_creator(locked.pk))
    link.refresh_from_db()
    warnings = [str(w) for w in check.get("warnings") or []]
    return IntakeOutcome(True, IntakeLink.USED, {}, link.attempts_left, warnings)


def _record_refusal(
    link: IntakeLink, check: dict[str, Any], ip: str | None, now: datetime
) -> IntakeOutcome:
    detail = str(check.get("detail") or "Lever did not accept the key.")
    status = str(check.get("status") or "error")
    where = ip or "an unknown address"
    if status not in _KEY_REFUSED:
        # Lever unreachable, rate limited or answering oddly: says nothing about the key.
        return IntakeOutcome(
            False,
            IntakeLink.OPEN,
            {
                "__all__": [
                    f"The key could not be checked with Lever just now: {detail} "
                    "Nothing was stored; please try again in a few minutes."
                ]
            },
            link.attempts_left,
        )
    with transaction.atomic():
        locked = (
            IntakeLink.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=link.pk)
        )
        state = locked.state_at(now)
        if state != IntakeLink.OPEN:
            raise IntakeLinkClosed(state)
        locked.failed_attempts += 1
        locked.last_failure_at = now
        fields = ["failed_attempts", "last_failure_at"]
        if locked.failed_attempts >= IntakeLink.MAX_FAILED_ATTEMPTS:
            locked.locked_at = now
            fields.append("locked_at")
        locked.save(update_fields=fields)
        record_tenant_action(
            locked.tenant,
            ACTOR_LABEL,
            "intake_link_refused",
            AUDIT_FIELD,
            f"link #{locked.pk}: Lever refused the key ({status}), try "
            f"{locked.failed_attempts} of {IntakeLink.MAX_FAILED_ATTEMPTS}, from {where}",
        )
        if locked.locked_at is not None:
            record_tenant_action(
                locked.tenant,
                ACTOR_LABEL,
                "intake_link_locked",
                AUDIT_FIELD,
                f"link #{locked.pk} locked after {locked.failed_attempts} refused keys",
            )
    link.refresh_from_db()
    return IntakeOutcome(
        False,
        link.state_at(now),
        {"lever_api_key": [f"Lever refused this key: {detail}"]},
        link.attempts_left,
    )


def _notify_creator(link_id: int) -> None:
    """Email the link's creator, when the operator configured outgoing mail (EMAIL_URL).

    The tenant page shows the notice in any case; mail is a convenience, so a mail failure is
    logged and never undoes the stored credentials.
    """
    link = IntakeLink.objects.select_related("tenant", "created_by").filter(pk=link_id).first()
    if link is None or link.created_by is None or not link.created_by.email:
        return
    if not settings.EMAIL_URL:
        return
    tenant_url = f"{settings.PUBLIC_BASE_URL}{reverse('tenant-detail', args=[link.tenant.slug])}"
    body = (
        f"The Lever API key and webhook signature token of {link.tenant.name} were entered "
        f"through the intake link you created, at {link.used_at:%Y-%m-%d %H:%M} UTC.\n\n"
        "Lever accepted the key; both are stored encrypted. The signature token shows as "
        "unconfirmed until Lever's first correctly signed delivery.\n\n"
        f"Tenant page: {tenant_url}\n"
    )
    try:
        send_mail(
            f"Credentials received for {link.tenant.name}",
            body,
            None,
            [link.created_by.email],
        )
    except Exception as exc:  # mail is best effort; the notice on the page is the record
        logger.warning(
            "Could not email the intake notice for link #%s (%s)", link.pk, type(exc).__name__
        )


# --- rate limit of the public page -----------------------------------------------------------


class RateLimitUnavailable(Exception):
    """The cache that holds the counters cannot be reached."""


def intake_rate_limit_hit(*, ip: str | None, token: str) -> float:
    """Count one POST; 0.0 when it may proceed, else seconds until the window ends.

    Counted per client IP and per link (by the token's digest, so the raw token is not a cache
    key). Raises RateLimitUnavailable when the cache is down: the view then fails closed.
    """
    now = time.time()
    window = int(now // RATE_LIMIT_WINDOW_S)
    retry_after = RATE_LIMIT_WINDOW_S - (now % RATE_LIMIT_WINDOW_S)
    keys = [
        f"{_RATE_KEY_PREFIX}:ip:{ip or 'unknown'}:{window}",
        f"{_RATE_KEY_PREFIX}:link:{intake_token_digest(token)[:32]}:{window}",
    ]
    over = False
    try:
        for key in keys:
            cache.add(key, 0, timeout=RATE_LIMIT_WINDOW_S * 2)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=RATE_LIMIT_WINDOW_S * 2)
                count = 1
            over = over or count > RATE_LIMIT_POSTS
    except Exception as exc:
        raise RateLimitUnavailable(type(exc).__name__) from exc
    return retry_after if over else 0.0
