"""Processing a stored Lever stage change into an order, or recording why not.

A worker does this (docs/CONTRACT.md §4, §5, §7); every outcome, including "no order", is
recorded on the event with its reason. Also here: replaying and sweeping those events, and Try
again on a case that could not be ordered.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.backcheck.mapping import Candidate, MissingEmail, candidate_from_opportunity
from connectors.http import HttpError, NotConfigured
from connectors.lever.client import LeverClient, RateLimited
from connectors.lever.shapes import Opportunity
from connectors.lever_interpret import (
    archived_reason,
    permission_refused,
    permission_restored,
    stage_name_or_id,
)
from connectors.models import Package, Tenant
from orders import jobs, outbox
from orders.models import InboundEvent, Order, StatusEvent
from orders.notes import render_missing_email_note, render_no_package_note
from orders.outbox import JobKind, Retry
from orders.services.inbound import ignore_reason
from orders.services.order_opening import (
    order_open,
    order_record_cannot_order,
    order_reopen_for_submit,
)
from orders.services.order_records import (
    ActiveOrderExists,
    InvalidOrderState,
    active_order_for,
    order_record_fact,
)

logger = logging.getLogger(__name__)


def _finish(
    event: InboundEvent, *, state: str, outcome: str, reason: str, order: Order | None = None
) -> None:
    InboundEvent.objects.filter(pk=event.pk).update(
        state=state,
        outcome=outcome,
        reason=reason[:500],
        processed_at=timezone.now(),
        lease_until=None,
        order=order,
        last_error="",
    )


def resolve_package(tenant: Tenant, opportunity: Opportunity) -> Package | None:
    """First match wins: an opportunity tag, then a posting tag, then the default (docs/CONTRACT.md §4).

    Tags compare case-insensitively and trimmed: Lever shows tags as typed, and a recruiter's
    "background check" should match a catalog's "Background Check".
    """
    packages = list(tenant.packages.all())
    by_tag = {p.lever_tag.strip().casefold(): p for p in packages if p.lever_tag.strip()}
    for tag in [*opportunity.tags, *opportunity.posting_tags]:
        match = by_tag.get(str(tag).strip().casefold())
        if match is not None:
            return match
    if opportunity.postings_forbidden:
        return None  # an unread posting tag may name another package: never guess the default
    return next((p for p in packages if p.is_default), None)


def _event_failed_fields(reason: str) -> dict[str, Any]:
    return {"outcome": "failed", "reason": reason[:500], "processed_at": timezone.now()}


# Processing a Lever stage change is a durable job (orders.outbox). Backcheck callbacks are
# applied inside their request and are not jobs.
INBOUND_JOB = JobKind(
    name="inbound",
    model=InboundEvent,
    cap_setting="INBOUND_MAX_ATTEMPTS",
    service="Lever",
    created="received_at",
    ready=InboundEvent.State.RECEIVED,
    running=InboundEvent.State.PROCESSING,
    lease="lease_until",
    failed=InboundEvent.State.FAILED,
    fail_fields=_event_failed_fields,
    scope=Q(source=InboundEvent.Source.LEVER),
)


def _process(event: InboundEvent) -> Retry | None:
    try:
        _handle_stage_change(event)
    except RateLimited as exc:
        # Our own limiter said wait before anything was sent: not an attempt.
        return Retry(max(0.05, exc.retry_after_s or 0.1))
    return None


def inbound_process(*, event_id: int) -> Retry | None:
    """Turn an accepted stage change into an order (docs/CONTRACT.md §4)."""
    return outbox.run(INBOUND_JOB, event_id, _process)


def _handle_stage_change(event: InboundEvent) -> None:
    tenant = event.tenant
    body: dict[str, Any] = json.loads(event.raw_body)
    # Checked again with the tenant as it is now: it may have been deactivated or its trigger
    # stages changed since the webhook was stored (the endpoint's snapshot can be seconds old,
    # and a backlog can be hours old).
    reason = ignore_reason(tenant, body)
    if reason:
        _finish(event, state=InboundEvent.State.IGNORED, outcome="ignored", reason=reason)
        return
    data = body["data"]
    opportunity_id, to_stage = data["opportunityId"], data["toStageId"]
    with LeverClient.for_tenant(tenant) as lever:
        # The webhook's `data` is not signed: re-read the opportunity (docs/CONTRACT.md §4).
        opportunity = lever.get_opportunity(opportunity_id)
        if opportunity.posting_tags and "postings" in (tenant.lever_permission_warnings or {}):
            permission_restored(tenant_id=tenant.pk, read="postings")  # a posting was read
        if opportunity.archived:
            _finish(
                event,
                state=InboundEvent.State.IGNORED,
                outcome="archived",
                reason=archived_reason(opportunity),
            )
            return
        if to_stage not in {change.to_stage_id for change in opportunity.stage_changes}:
            _finish(
                event,
                state=InboundEvent.State.IGNORED,
                outcome="stage_not_confirmed",
                reason=f"Lever's stage history for this opportunity has no move to stage "
                f"{to_stage!r}; no order.",
            )
            return
        existing = active_order_for(tenant=tenant, opportunity_id=opportunity_id)
        if existing is not None:
            _record_active(event, existing)
            return
        try:
            candidate = candidate_from_opportunity(opportunity)
        except MissingEmail:
            _cannot_order(
                event,
                opportunity,
                "no_email",
                render_missing_email_note(
                    stage_name=stage_name_or_id(lever, to_stage, tenant_id=tenant.pk)
                ),
                package=resolve_package(tenant, opportunity),
            )
            return
        package = resolve_package(tenant, opportunity)
        if package is None:
            tags = [p.lever_tag for p in tenant.packages.all() if p.lever_tag]
            if opportunity.postings_forbidden:
                permission_refused(tenant_id=tenant.pk, read="postings")
            text = render_no_package_note(
                tags=tags,
                stage_name=stage_name_or_id(lever, to_stage, tenant_id=tenant.pk),
                postings_unreadable=opportunity.postings_forbidden,
            )
            _cannot_order(event, opportunity, "no_package", text, candidate=candidate)
            return
    try:
        order = order_open(
            tenant=tenant,
            opportunity_id=opportunity_id,
            candidate=candidate,
            candidate_name=opportunity.name,
            lever_url=opportunity.show_url or "",
            package=package,
            trigger_event=event,
            trigger_stage_id=to_stage,
            launched_by="webhook",
        )
    except ActiveOrderExists as exc:
        _record_active(event, exc.order)
        return
    _finish(
        event,
        state=InboundEvent.State.PROCESSED,
        outcome="order_opened",
        reason=f"Order {order.pk} opened.",
        order=order,
    )


def _record_active(event: InboundEvent, order: Order) -> None:
    reason = f"Order {order.pk} is already active for this opportunity; nothing created."
    with transaction.atomic():
        order_record_fact(
            order=order, inbound_event=event, source=StatusEvent.Source.SYSTEM, reason=reason
        )
        _finish(
            event,
            state=InboundEvent.State.PROCESSED,
            outcome="active_order_exists",
            reason=reason,
            order=order,
        )


def _cannot_order(
    event: InboundEvent,
    opportunity: Opportunity,
    outcome: str,
    text: str,
    *,
    candidate: Candidate | None = None,
    package: Package | None = None,
) -> None:
    """The Error note goes to Lever as it always did, and the case shows in the portal."""
    with transaction.atomic():
        order = order_record_cannot_order(
            tenant=event.tenant,
            opportunity_id=opportunity.id,
            candidate_name=opportunity.name or "",
            candidate_email=candidate.email if candidate else "",
            candidate_phone=(candidate.phone or "") if candidate else "",
            lever_url=opportunity.show_url or "",
            package=package,
            reason=outcome,
            note_text=text,
            trigger_event=event,
            trigger_stage_id=event.to_stage_id,
        )
        _finish(
            event,
            state=InboundEvent.State.PROCESSED,
            outcome=outcome,
            reason=text.splitlines()[-1],
            order=order,
        )


class TryAgainRefused(Exception):
    """Try again found the cause still there (or Lever unreachable): the words say what to do."""


def case_try_again(*, order: Order, actor: str) -> Order:
    """Read the candidate of a case that could not be ordered from Lever again; if the cause is
    fixed (an email, a matching tag), order it. Nothing is posted to Lever when it is not."""
    if not order.cannot_order or order.status != "Error":
        raise TryAgainRefused("Only a case that could not be ordered can be tried again.")
    tenant = order.tenant
    try:
        with LeverClient.for_tenant(tenant) as lever:
            opportunity = lever.get_opportunity(order.opportunity_id)
    except NotConfigured as exc:
        raise TryAgainRefused(exc.fix.replace("then Replay", "then Try again")) from None
    except HttpError as exc:
        raise TryAgainRefused(f"Lever could not be read ({exc}); try again later.") from None
    if opportunity.archived:
        raise TryAgainRefused("The opportunity is archived in Lever; nothing was ordered.")
    try:
        candidate = candidate_from_opportunity(opportunity)
    except MissingEmail:
        raise TryAgainRefused(
            "Lever still has no email address for this candidate. Add one in Lever, then Try again."
        ) from None
    package = resolve_package(tenant, opportunity)
    if package is None:
        tags = ", ".join(dict.fromkeys(p.lever_tag for p in tenant.packages.all() if p.lever_tag))
        raise TryAgainRefused(
            "Still no screening package matches this candidate's tags or job posting, and no "
            "default package is set. "
            + (f"Add one of these tags in Lever: {tags}, " if tags else "Set a default package, ")
            + "then Try again."
        )
    try:
        return order_reopen_for_submit(
            order=order,
            candidate=candidate,
            candidate_name=opportunity.name or order.candidate_name,
            package=package,
            actor=actor,
        )
    except ActiveOrderExists as exc:
        raise TryAgainRefused(
            f"Order {exc.order.pk} is already active for this candidate; nothing was ordered."
        ) from None
    except InvalidOrderState as exc:
        raise TryAgainRefused(str(exc)) from None


def inbound_events_sweep(*, now: datetime | None = None) -> list[int]:
    """Events nobody is working on: lost publishes, killed workers, due retries."""
    return outbox.sweep(INBOUND_JOB, now=now)


def inbound_replay(*, event: InboundEvent) -> None:
    """Process a failed (or stuck) Lever event again."""
    if event.source != InboundEvent.Source.LEVER or event.state not in (
        InboundEvent.State.FAILED,
        InboundEvent.State.RECEIVED,
    ):
        raise ValueError("Only a failed or waiting Lever event can be replayed.")
    InboundEvent.objects.filter(pk=event.pk).update(
        state=InboundEvent.State.RECEIVED,
        next_attempt_at=None,
        attempts=0,
        lease_until=None,
        requeued_at=None,
    )
    jobs.process_inbound_later(event.pk)
