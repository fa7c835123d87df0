"""Tell account managers when a case of one of their tenants needs attention, by email.

Beat runs `attention_emails_send` every minute. For each account manager who has not turned it
off on their profile (on by default) it gathers what needs someone on their tenants — failed
notes, events, submissions and cancellations, refused cancellations, cases in Error — and emails
the items no earlier email covered, grouped by case with links. At most one email per manager
every ATTENTION_EMAIL_MIN_INTERVAL (15 minutes): what turns up meanwhile waits for the next one.
An item that leaves Needs attention and comes back is news again. Nothing is sent until outgoing
mail is configured (EMAIL_URL).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from orders.models import CancelRequest, InboundEvent, LeverNote, Order, UserProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

ATTENTION_EMAIL_MIN_INTERVAL = timedelta(minutes=15)
# Items gathered per manager and kind; an email lists at most this many cases.
LIMIT = 200


@dataclass(frozen=True)
class Item:
    key: str  # "note:12"
    order_id: int | None
    case: str  # the candidate, or the opportunity id
    tenant: str
    what: str  # plain words: what is wrong and what fixes it


def attention_items(tenant_ids: list[int]) -> list[Item]:
    """What needs someone on these tenants, newest first within each kind."""
    items: list[Item] = []

    def case(order: Order | None, fallback: str) -> str:
        return (order.candidate_name or order.opportunity_id) if order else fallback

    notes = (
        LeverNote.objects.filter(tenant_id__in=tenant_ids, state=LeverNote.State.FAILED)
        .select_related("order", "tenant")
        .only(
            "pk", "order", "tenant__name", "opportunity_id", "last_error", "order__candidate_name"
        )
        .order_by("-created_at")[:LIMIT]
    )
    for n in notes:
        items.append(
            Item(
                f"note:{n.pk}",
                n.order_id,
                case(n.order, n.opportunity_id),
                n.tenant.name,
                f"Lever note not delivered: {n.last_error}",
            )
        )
    events = (
        InboundEvent.objects.filter(tenant_id__in=tenant_ids, state=InboundEvent.State.FAILED)
        .select_related("order", "tenant")
        .defer("raw_body")
        .order_by("-received_at")[:LIMIT]
    )
    for e in events:
        items.append(
            Item(
                f"event:{e.pk}",
                e.order_id,
                case(e.order, e.opportunity_id or f"event #{e.pk}"),
                e.tenant.name,
                f"Stage change not processed: {e.reason or e.last_error}",
            )
        )
    orders = Order.objects.filter(tenant_id__in=tenant_ids).select_related("tenant")
    for o in orders.filter(submit_state=Order.SubmitState.FAILED, state__isnull=True)[:LIMIT]:
        items.append(
            Item(
                f"submit:{o.pk}",
                o.pk,
                case(o, ""),
                o.tenant.name,
                f"Not sent to Backcheck: {o.submit_error}",
            )
        )
    for o in orders.filter(status="Error").order_by("-updated_at")[:LIMIT]:
        what = "Cannot be ordered" if o.cannot_order else "Backcheck reports an error"
        items.append(
            Item(f"order:{o.pk}", o.pk, case(o, ""), o.tenant.name, f"{what}: {o.error_message}")
        )
    cancels = (
        CancelRequest.objects.filter(order__tenant_id__in=tenant_ids)
        .filter(
            Q(state=CancelRequest.State.FAILED)
            | Q(state=CancelRequest.State.REFUSED, dismissed_at__isnull=True)
        )
        .select_related("order", "order__tenant")
        .order_by("-created_at")[:LIMIT]
    )
    for c in cancels:
        what = "Cancel refused" if c.state == CancelRequest.State.REFUSED else "Cancel not sent"
        items.append(
            Item(
                f"cancel:{c.pk}",
                c.order_id,
                case(c.order, ""),
                c.order.tenant.name,
                f"{what}: {c.last_error}",
            )
        )
    return items


def _body(user: User, new: list[Item], others: int) -> str:
    base = settings.PUBLIC_BASE_URL
    by_case: dict[tuple[int | None, str, str], list[Item]] = {}
    for item in new:
        by_case.setdefault((item.order_id, item.case, item.tenant), []).append(item)
    lines = [
        f"Hello {user.get_username()},",
        "",
        f"{len(by_case)} case{'' if len(by_case) == 1 else 's'} of your tenants "
        f"need{'s' if len(by_case) == 1 else ''} attention:",
        "",
    ]
    for (order_id, name, tenant), group in list(by_case.items())[:LIMIT]:
        link = base + (
            reverse("order-detail", args=[order_id]) if order_id else reverse("attention")
        )
        lines.append(f"- {name} ({tenant}): {link}")
        lines.extend(f"    {item.what}" for item in group)
    lines.append("")
    if others:
        lines.append(f"{others} earlier item{'s' if others != 1 else ''} still need attention.")
    lines += [
        f"Everything that needs attention: {base}{reverse('attention')}",
        "",
        f"You get at most one of these every {int(ATTENTION_EMAIL_MIN_INTERVAL.total_seconds() // 60)}"
        f" minutes. Turn them off on your profile: {base}{reverse('profile')}",
    ]
    return "\n".join(lines)


def outgoing_mail_configured() -> bool:
    """Outgoing mail is set up once the operator has set EMAIL_URL (as for intake notices)."""
    return bool(settings.EMAIL_URL)


def attention_emails_send(*, now: datetime | None = None) -> int:
    """Send the due attention emails; returns how many were sent."""
    if not outgoing_mail_configured():
        return 0
    now = now or timezone.now()
    managers = (
        get_user_model()
        .objects.filter(is_active=True, managed_tenants__isnull=False)
        .exclude(email="")
        .exclude(portal_profile__attention_emails=False)
        .distinct()
    )
    sent = 0
    for user in managers:
        UserProfile.objects.get_or_create(user=user)
        with transaction.atomic():
            profile = (
                UserProfile.objects.select_for_update(skip_locked=True).filter(user=user).first()
            )
            if profile is None or not profile.attention_emails:
                continue  # another sweep has this manager, or it was just turned off
            tenant_ids = list(user.managed_tenants.values_list("pk", flat=True))
            current = attention_items(tenant_ids)
            keys = {item.key for item in current}
            notified = set(profile.attention_notified) & keys  # what left is news if it returns
            new = [item for item in current if item.key not in notified]
            recent = (
                profile.attention_emailed_at is not None
                and now - profile.attention_emailed_at < ATTENTION_EMAIL_MIN_INTERVAL
            )
            if not new or recent:
                if notified != set(profile.attention_notified):
                    profile.attention_notified = sorted(notified)
                    profile.save(update_fields=["attention_notified"])
                continue
            cases = len({(i.order_id, i.case) for i in new})
            subject = (
                f"{cases} case{'s' if cases != 1 else ''} need{'' if cases != 1 else 's'} "
                "attention · Backcheck ↔ Lever portal"
            )
            try:
                send_mail(subject, _body(user, new, len(notified)), None, [user.email])
            except Exception as exc:  # the mail server: try again at the next run
                logger.warning(
                    "attention email to user %s not sent (%s)", user.pk, type(exc).__name__
                )
                continue
            profile.attention_emailed_at = now
            profile.attention_notified = sorted(keys)
            profile.save(update_fields=["attention_emailed_at", "attention_notified"])
            sent += 1
    if sent:
        logger.info("attention emails sent: %s", sent)
    return sent
