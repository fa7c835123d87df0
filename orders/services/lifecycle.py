"""Data lifecycle: how long candidate personal data is kept (docs/CONTRACT.md §8, docs/RUNBOOK.md).

- Retention: the raw bodies of webhooks and callbacks are blanked PAYLOAD_RETENTION_DAYS after
  they arrived, once processed. A Lever event that failed keeps its body, because it can still be
  replayed; one waiting or being processed keeps it until it is done. The row, its hash, its
  Lever token and id, and the status history stay.
- Erasure: a candidate deleted in Lever is erased here too. Lever's list of deleted opportunities
  is read per tenant from a watermark (`Tenant.lever_deleted_checked_at`); for each opportunity
  the portal knows, an active order at Backcheck is cancelled through the ordinary cancel path,
  then names, emails, phones and raw bodies are blanked, unsent notes are skipped, and the case's
  timeline says so. Status history, references and order numbers stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.http import HttpError
from connectors.lever.client import LeverClient, LeverNotConfigured, RateLimited
from connectors.lever_interpret import permission_refused, permission_restored
from connectors.models import Tenant
from orders.models import InboundEvent, LeverNote, Order, StatusEvent
from orders.outbox import Retry
from orders.services.order_cancellation import CANCELLABLE, order_request_cancel
from orders.services.order_records import InvalidOrderState

logger = logging.getLogger(__name__)

RETENTION_BATCH = 1000
# One run blanks at most this many batches; the next hourly run goes on where it stopped, so a
# first run over years of history never holds a worker for long.
RETENTION_MAX_BATCHES = 50
# Lever may list a deletion a little after its `deletedAt`: each read starts this long before
# the previous one ended (erasing twice is harmless).
DELETED_OVERLAP = timedelta(minutes=10)
ERASED_REASON = "personal data erased (deleted in Lever)"
ERASURE_ACTOR = "Lever (opportunity deleted)"
DELETED_NOTE_ERROR = "Not sent: the opportunity was deleted in Lever."
# The permission warning's key on the tenant's health (connectors/tenants/health.py LEVER_FORBIDDEN).
DELETED_READ = "deleted_opportunities"


# --- retention ---------------------------------------------------------------------------------
def _retention_due(now: datetime) -> Q:
    cutoff = now - timedelta(days=settings.PAYLOAD_RETENTION_DAYS)
    finished = Q(state__in=[InboundEvent.State.PROCESSED, InboundEvent.State.IGNORED]) | Q(
        # A failed Backcheck callback cannot be replayed; a failed Lever event can (inbound_replay).
        state=InboundEvent.State.FAILED,
        source=InboundEvent.Source.BACKCHECK,
    )
    return Q(body_erased_at__isnull=True, received_at__lt=cutoff) & finished


def payloads_purge(*, now: datetime | None = None, batch: int = RETENTION_BATCH) -> int:
    """Blank the raw bodies past retention, in batches; returns how many were blanked."""
    now = now or timezone.now()
    due = _retention_due(now)
    total = 0
    for _ in range(RETENTION_MAX_BATCHES):
        ids = list(
            InboundEvent.objects.filter(due)
            .order_by("received_at", "id")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        # Checked again in the UPDATE: an event replayed meanwhile is no longer due.
        total += InboundEvent.objects.filter(due, pk__in=ids).update(
            raw_body="", body_erased_at=now
        )
        if len(ids) < batch:
            break
    if total:
        logger.info(
            "blanked %s raw bodies older than %s days", total, settings.PAYLOAD_RETENTION_DAYS
        )
    return total


# --- erasure of candidates deleted in Lever ------------------------------------------------------
@dataclass(frozen=True)
class DeletedProgress(Retry):
    """Stopped by the rate limiter: come back with this page token and run start."""

    offset: str | None = None
    started_at: float | None = None  # epoch s


def tenants_for_deleted_check() -> list[int]:
    return list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))


def lever_deleted_erase(
    *, tenant_id: int, offset: str | None = None, started_at: float | None = None
) -> DeletedProgress | None:
    """Read the tenant's deleted opportunities since its watermark and erase each one we know.

    Page by page: each page is erased before the next is read, so a run stopped by the rate
    limiter resumes at its page. The watermark moves only once the last page is done.
    """
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return None
    run_started = datetime.fromtimestamp(started_at, UTC) if started_at else timezone.now()
    since = tenant.lever_deleted_checked_at
    since_ms = int((since - DELETED_OVERLAP).timestamp() * 1000) if since else None
    _erase_what_came_after(tenant)
    try:
        client = LeverClient.for_tenant(tenant)
    except LeverNotConfigured:
        return None
    with client:
        while True:
            try:
                page = client.deleted_opportunities_page(deleted_since_ms=since_ms, offset=offset)
            except RateLimited as exc:
                return DeletedProgress(
                    countdown=max(0.05, exc.retry_after_s or 0.1),
                    offset=offset,
                    started_at=run_started.timestamp(),
                )
            except HttpError as exc:
                if exc.status == 403:
                    # The key lacks the permission: the tenant's health says so, nothing else stops.
                    permission_refused(tenant_id=tenant.pk, read=DELETED_READ)
                    return None
                raise
            for item in page.items:
                opportunity_erase(tenant=tenant, opportunity_id=item.id)
            if page.next is None:
                break
            offset = page.next
    Tenant.objects.filter(pk=tenant.pk).update(lever_deleted_checked_at=run_started)
    if DELETED_READ in (tenant.lever_permission_warnings or {}):
        permission_restored(tenant_id=tenant.pk, read=DELETED_READ)
    return None


def opportunity_erase(*, tenant: Tenant, opportunity_id: str) -> int:
    """Cancel and erase every order of a deleted opportunity; returns how many were erased.

    An order already erased is left alone, so reading the same deletion twice does nothing.
    """
    now = timezone.now()
    erased = 0
    orders = Order.objects.filter(
        tenant=tenant, opportunity_id=opportunity_id, personal_data_erased_at__isnull=True
    ).order_by("pk")
    for order in orders:
        if order.status in CANCELLABLE and order.screening_id:
            try:
                order_request_cancel(order=order, actor=ERASURE_ACTOR)
            except InvalidOrderState:
                pass  # it moved on meanwhile: nothing left to cancel
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if locked.personal_data_erased_at is not None:
                continue
            fields: dict[str, object] = {
                "candidate_name": "",
                "candidate_email": "",
                "candidate_phone": "",
                "personal_data_erased_at": now,
            }
            if locked.submit_state == Order.SubmitState.PENDING:
                # Not yet accepted by Backcheck: it is never sent without the candidate.
                fields |= {
                    "submit_state": Order.SubmitState.FAILED,
                    "submit_error": DELETED_NOTE_ERROR.replace("Not sent", "Not ordered"),
                    "is_active": False,
                }
            Order.objects.filter(pk=locked.pk).update(**fields)
            StatusEvent.objects.create(
                order=locked,
                source=StatusEvent.Source.SYSTEM,
                outcome=StatusEvent.Outcome.RECORDED,
                from_status=locked.status,
                to_status=locked.status,
                actor=ERASURE_ACTOR,
                reason=ERASED_REASON,
            )
        erased += 1
    _erase_bodies(tenant, opportunity_id, now)
    _skip_unsent_notes(Q(tenant=tenant, opportunity_id=opportunity_id))
    if erased:
        logger.info("erased %s order(s) of an opportunity deleted in Lever", erased)
    return erased


def _erase_what_came_after(tenant: Tenant) -> None:
    """What reached an erased case after its erasure: the callback and the note of the cancel
    Backcheck confirmed later, a callback still in flight. Each run erases them too."""
    erased = Order.objects.filter(tenant=tenant, personal_data_erased_at__isnull=False)
    _skip_unsent_notes(Q(tenant=tenant, opportunity_id__in=erased.values("opportunity_id")))
    InboundEvent.objects.filter(
        tenant=tenant, order__in=erased.values("pk"), body_erased_at__isnull=True
    ).exclude(state=InboundEvent.State.PROCESSING).update(
        raw_body="", body_erased_at=timezone.now()
    )


def _skip_unsent_notes(which: Q) -> None:
    """Notes for a candidate Lever no longer has would only fail: skip them. One being sent right
    now is left to finish (Lever answers 404 and it fails visibly until the next run)."""
    LeverNote.objects.filter(
        which,
        state__in=[LeverNote.State.PENDING, LeverNote.State.BLOCKED, LeverNote.State.FAILED],
    ).update(state=LeverNote.State.SKIPPED, last_error=DELETED_NOTE_ERROR, next_attempt_at=None)


def _erase_bodies(tenant: Tenant, opportunity_id: str, now: datetime) -> None:
    events = InboundEvent.objects.filter(tenant=tenant).filter(
        Q(opportunity_id=opportunity_id) | Q(order__opportunity_id=opportunity_id)
    )
    # A Lever event still waiting (or failed, hence replayable) would only meet a 404 now.
    events.filter(
        source=InboundEvent.Source.LEVER,
        state__in=[InboundEvent.State.RECEIVED, InboundEvent.State.FAILED],
    ).update(
        state=InboundEvent.State.IGNORED,
        outcome="deleted",
        reason="The opportunity was deleted in Lever.",
        next_attempt_at=None,
    )
    # One being processed right now keeps its body until it is done; retention blanks it later.
    events.exclude(state=InboundEvent.State.PROCESSING).filter(body_erased_at__isnull=True).update(
        raw_body="", body_erased_at=now
    )
