"""Reads for the account managers' pages: the orders list, a case's timeline, what needs
attention, and each tenant's health.

Everything is scoped through connectors.access (another tenant's rows never load). Every page
runs a fixed number of queries whatever the row count: counts are aggregates, related rows come
in one query per table, and the list's total comes from the per-status counts, so pagination
never runs a second COUNT(*).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.db.models.functions.datetime import TruncBase
from django.utils import timezone
from django.utils.functional import cached_property

from connectors.access import is_super_admin, scope_to_user, tenants_visible_to
from connectors.models import Package, Tenant
from orders.models import (
    CancelRequest,
    InboundEvent,
    LeverNote,
    NoteAttempt,
    Order,
    OrderAction,
    ScreeningService,
    StatusEvent,
)
from orders.state import ACTIVE_STATUSES, LEVER_STATUS

if TYPE_CHECKING:
    from integration_portal.users import AnyUser

# The statuses in the order a case moves through them; "" is an order Backcheck has not
# answered yet (still being submitted).
STATUS_ORDER: tuple[str, ...] = ("", "Initiated", "In Progress", "Error", "Completed", "Canceled")
STATUS_LABELS: dict[str, str] = {"": "Submitting", **{s: s for s in STATUS_ORDER if s}}
SCORES: tuple[str, ...] = ("Green", "Amber", "Red")
DEFAULT_QUIET_DAYS = 3
PAGE_SIZE = 50
# A section of the needs-attention page lists at most this many rows (newest first) and says how
# many there are in all: a page of 10,000 failed notes helps nobody, the count does.
ATTENTION_LIMIT = 100

SORTS: dict[str, tuple[str, ...]] = {
    "created": ("created_at", "id"),
    "updated": ("updated_at", "id"),
    "heard": ("last_heard_at", "id"),
    "candidate": ("candidate_name", "id"),
    "status": ("status", "id"),
    "score": ("score", "id"),
    "tenant": ("tenant__name", "id"),
    "number": ("order_number", "id"),
}
DEFAULT_SORT = "-created"

_NOTE_TROUBLE = (LeverNote.State.FAILED, LeverNote.State.BLOCKED)

# The tenant's encrypted columns: pages that show a tenant's name never load (and so never
# decrypt) them — decrypting four secrets per row was most of the list page's time.
TENANT_SECRETS = (
    "lever_api_key",
    "lever_signature_token",
    "lever_signature_token_previous",
    "backcheck_client_id",
    "backcheck_client_secret",
)


def visible_tenant_ids(user: AnyUser) -> list[int]:
    """The ids of the tenants the user may see (connectors.access decides), once per request."""
    cached = getattr(user, "_dashboard_tenant_ids", None)
    if cached is None:
        cached = list(tenants_visible_to(user).values_list("pk", flat=True))
        try:
            user._dashboard_tenant_ids = cached  # type: ignore[union-attr]  # per-request cache
        except AttributeError:  # AnonymousUser and friends: nothing to cache on
            pass
    return cached


def scoped(qs: QuerySet, user: AnyUser, field: str = "tenant") -> QuerySet:
    """`qs` limited to the user's tenants, as `tenant_id IN (…)`.

    Same rows as connectors.access.scope_to_user, but as a plain list of ids the planner can
    use with the (tenant, …) indexes; a join through the account-managers table made it count
    100,000 orders row by row.
    """
    if is_super_admin(user):
        return qs
    return qs.filter(**{f"{field}_id__in": visible_tenant_ids(user)})


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def with_tenant(qs: QuerySet, prefix: str = "tenant") -> QuerySet:
    """select_related(prefix) without the tenant's secret columns."""
    return qs.select_related(prefix).defer(*[f"{prefix}__{f}" for f in TENANT_SECRETS])


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status or "Submitting")


# --- the orders list ---------------------------------------------------------------------------


def quiet_q(*, days: int, now: datetime | None = None) -> Q:
    """Active orders that have heard nothing from Backcheck for `days` days."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return Q(is_active=True) & (
        Q(last_heard_at__lt=cutoff) | Q(last_heard_at__isnull=True, created_at__lt=cutoff)
    )


def attention_q(*, days: int, now: datetime | None = None) -> Q:
    """Error orders, orders with a failed or blocked note, and quiet active orders."""
    # IN (subquery), not EXISTS: inside an OR, PostgreSQL runs EXISTS once per order (100k
    # times) but hashes an IN list of the few orders with troubled notes once.
    troubled = LeverNote.objects.filter(state__in=_NOTE_TROUBLE, order__isnull=False).values(
        "order_id"
    )
    return Q(status="Error") | Q(pk__in=troubled) | quiet_q(days=days, now=now)


def _search_q(q: str) -> Q:
    from orders.services.launch import LaunchError, parse_opportunity_reference

    # Reference numbers and opportunity ids match exactly (their btree indexes serve them);
    # names and emails by substring (trigram indexes on PostgreSQL, migration 0002).
    cond = (
        Q(candidate_name__icontains=q)
        | Q(candidate_email__icontains=q)
        | Q(order_number__in={q, q.upper()})
        | Q(opportunity_id=q)
    )
    if "/candidates/" in q:
        # A Lever candidate URL pasted into the search box finds its opportunity.
        try:
            cond |= Q(opportunity_id=parse_opportunity_reference(q))
        except LaunchError:
            pass
    if q.isdigit():
        cond |= Q(pk=int(q))
    return cond


def order_queryset(*, user: AnyUser, filters: dict[str, Any], with_status: bool = True) -> QuerySet:
    """Visible orders matching `filters` (the cleaned OrderFilterForm); unsorted.

    `with_status=False` leaves the status filter out: the per-status counts are counted over
    everything else, so each count says what clicking that status would show.
    """
    qs = scoped(Order.objects.all(), user)
    if filters.get("tenant"):
        qs = qs.filter(tenant__slug=filters["tenant"])
    if with_status and filters.get("status") is not None and filters.get("status") != "all":
        qs = qs.filter(status=filters["status"])
    if filters.get("score"):
        qs = qs.filter(score=filters["score"])
    if filters.get("package"):
        qs = qs.filter(package_code=filters["package"])
    created_from: date | None = filters.get("created_from")
    created_to: date | None = filters.get("created_to")
    # Bounds on created_at itself (UTC days), not created_at::date: the index can be used.
    if created_from:
        qs = qs.filter(created_at__gte=_day_start(created_from))
    if created_to:
        qs = qs.filter(created_at__lt=_day_start(created_to + timedelta(days=1)))
    if filters.get("attention"):
        qs = qs.filter(attention_q(days=filters.get("days") or DEFAULT_QUIET_DAYS))
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(_search_q(q))
    return qs


def order_sorted(qs: QuerySet, sort: str | None) -> QuerySet:
    sort = sort or DEFAULT_SORT
    key = sort.lstrip("-")
    fields = SORTS.get(key) or SORTS["created"]
    desc = sort.startswith("-") if key in SORTS else True
    return qs.order_by(*[f"-{f}" if desc else f for f in fields])


def status_counts(*, user: AnyUser, filters: dict[str, Any]) -> list[tuple[str, int]]:
    """(status, count) for every status, in STATUS_ORDER, over the filtered set: one query."""
    rows = (
        order_queryset(user=user, filters=filters, with_status=False)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    counted = dict(rows)
    statuses = list(STATUS_ORDER) + sorted(s for s in counted if s not in STATUS_ORDER)
    return [(s, counted.get(s, 0)) for s in statuses]


class KnownCountPaginator(Paginator):
    """A paginator told its total up front (from the status counts): no COUNT(*) of its own."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count

    def page(self, number: Any) -> Page:
        """Pages past the middle are read from the other end, in reverse order: OFFSET 99,950
        walks 99,950 rows, the reversed query only 50 (the total is known, so the offset from
        the end is too)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count // 2 or not isinstance(self.object_list, QuerySet):
            # _get_page: Paginator's own page factory, which django-stubs does not declare.
            return self._get_page(self.object_list[bottom:top], number, self)  # type: ignore[attr-defined]
        rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
        rows.reverse()
        return self._get_page(rows, number, self)  # type: ignore[attr-defined]


@dataclass
class OrderListPage:
    page: Page
    counts: list[tuple[str, int]]
    total: int  # all statuses, other filters applied
    chart: Chart


def order_list_page(*, user: AnyUser, filters: dict[str, Any], page_number: Any) -> OrderListPage:
    counts = status_counts(user=user, filters=filters)
    total = sum(n for _, n in counts)
    status = filters.get("status")
    matching = dict(counts).get(status, 0) if status is not None else total
    qs = order_sorted(order_queryset(user=user, filters=filters), filters.get("sort"))
    qs = with_tenant(qs).defer("state", "error_message", "submit_error")
    paginator = KnownCountPaginator(qs, PAGE_SIZE, count=matching)
    page = paginator.get_page(page_number)
    annotate_lever_markers(page.object_list)
    return OrderListPage(
        page=page, counts=counts, total=total, chart=status_chart(user=user, filters=filters)
    )


def order_export_rows(*, user: AnyUser, filters: dict[str, Any]) -> Iterator[list[str]]:
    """The filtered, sorted set as CSV rows (header first), streamed in chunks."""
    yield [
        "id",
        "tenant",
        "reference number",
        "candidate",
        "email",
        "lever opportunity id",
        "package",
        "status",
        "lever status",
        "piecemeal status",
        "score",
        "created (UTC)",
        "last heard (UTC)",
        "completed (UTC)",
        "report url",
        "lever url",
        "launched by",
    ]
    qs = order_sorted(order_queryset(user=user, filters=filters), filters.get("sort"))
    rows = qs.values_list(
        "pk",
        "tenant__slug",
        "order_number",
        "candidate_name",
        "candidate_email",
        "opportunity_id",
        "package_name",
        "status",
        "piecemeal_status",
        "score",
        "created_at",
        "last_heard_at",
        "completed_at",
        "report_url",
        "lever_url",
        "launched_by",
    )
    for row in rows.iterator(chunk_size=2000):
        (pk, slug, number, name, email, opp, package, status, piecemeal, score, created,
         heard, completed, report, lever, launched) = row  # fmt: skip
        yield [
            str(pk),
            slug,
            number,
            name,
            email,
            opp,
            package,
            status,
            LEVER_STATUS.get(status, ""),
            piecemeal,
            score,
            _iso(created),
            _iso(heard),
            _iso(completed),
            report,
            lever,
            launched,
        ]


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


# --- the chart ---------------------------------------------------------------------------------


@dataclass
class Bar:
    # Strings, already formatted: the template prints them as they are (no per-number l10n).
    x: str
    y: str
    width: str
    height: str
    status: str
    label: str
    count: int


@dataclass
class Chart:
    """Orders created per period, stacked by their current status; drawn as SVG, no JS."""

    buckets: list[tuple[date, dict[str, int]]]
    unit: str  # day | week | month
    bars: list[Bar] = field(default_factory=list)
    max_total: int = 0
    width: int = 720
    height: int = 200
    statuses: list[str] = field(default_factory=list)
    ticks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.max_total == 0

    @property
    def table(self) -> list[tuple[date, list[int]]]:
        """The chart's numbers for the table under it (periods with orders only)."""
        return [
            (day, [counts.get(s, 0) for s in self.statuses])
            for day, counts in self.buckets
            if any(counts.values())
        ]


CHART_PLOT_TOP = 10
CHART_PLOT_BOTTOM = 170
CHART_LEFT = 36


def _chart_window(filters: dict[str, Any], today: date) -> tuple[date, date]:
    end = filters.get("created_to") or today
    start = filters.get("created_from") or end - timedelta(days=29)
    if start > end:
        start = end
    return start, end


def status_chart(*, user: AnyUser, filters: dict[str, Any]) -> Chart:
    today = timezone.now().date()
    start, end = _chart_window(filters, today)
    span = (end - start).days + 1
    trunc: TruncBase
    if span <= 62:
        unit, trunc = "day", TruncDate("created_at")
    elif span <= 366:
        unit, trunc = "week", TruncWeek("created_at")
    else:
        unit, trunc = "month", TruncMonth("created_at")
    qs = (
        order_queryset(
            user=user,
            filters={**filters, "created_from": start, "created_to": end},
            with_status=False,
        )
        .order_by()
        .annotate(bucket=trunc)
        .values_list("bucket", "status")
        .annotate(n=Count("id"))
    )
    per: dict[date, dict[str, int]] = {}
    for bucket, status, n in qs:
        day = bucket.date() if isinstance(bucket, datetime) else bucket
        per.setdefault(day, {})
        per[day][status] = per[day].get(status, 0) + n
    keys = _bucket_keys(start, end, unit)
    buckets = [(k, per.get(k, {})) for k in keys]
    chart = Chart(buckets=buckets, unit=unit)
    _layout(chart)
    return chart


def _bucket_keys(start: date, end: date, unit: str) -> list[date]:
    keys: list[date] = []
    if unit == "day":
        d = start
        while d <= end:
            keys.append(d)
            d += timedelta(days=1)
    elif unit == "week":
        d = start - timedelta(days=start.weekday())
        while d <= end:
            keys.append(d)
            d += timedelta(days=7)
    else:
        d = start.replace(day=1)
        while d <= end:
            keys.append(d)
            d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def _layout(chart: Chart) -> None:
    seen = {s for _, counts in chart.buckets for s, n in counts.items() if n}
    chart.statuses = [s for s in STATUS_ORDER if s in seen] + sorted(seen - set(STATUS_ORDER))
    chart.max_total = max((sum(c.values()) for _, c in chart.buckets), default=0)
    if not chart.buckets or chart.max_total == 0:
        return
    plot_w = chart.width - CHART_LEFT - 4
    plot_h = CHART_PLOT_BOTTOM - CHART_PLOT_TOP
    slot = plot_w / len(chart.buckets)
    bar_w = max(1.0, slot * 0.8)
    fmt = "%b %Y" if chart.unit == "month" else "%m-%d"
    every = max(1, len(chart.buckets) // 8)
    for i, (day, counts) in enumerate(chart.buckets):
        x = CHART_LEFT + i * slot + (slot - bar_w) / 2
        y = float(CHART_PLOT_BOTTOM)
        for status in chart.statuses:
            n = counts.get(status, 0)
            if not n:
                continue
            h = plot_h * n / chart.max_total
            y -= h
            chart.bars.append(
                Bar(
                    x=f"{x:.2f}",
                    y=f"{y:.2f}",
                    width=f"{bar_w:.2f}",
                    height=f"{h:.2f}",
                    status=status,
                    label=f"{day.isoformat()}: {n} {status_label(status)}",
                    count=n,
                )
            )
        if i % every == 0:
            chart.ticks.append((f"{x + bar_w / 2:.2f}", day.strftime(fmt)))


# --- filter choices ----------------------------------------------------------------------------


def filter_choices(*, user: AnyUser) -> dict[str, list[tuple[str, str]]]:
    """Tenants and package codes the user may filter on: two small queries."""
    tenants = list(tenants_visible_to(user).order_by("name").values_list("slug", "name"))
    packages = (
        scope_to_user(Package.objects.all(), user)
        .order_by("name", "code")
        .values_list("code", "name")
        .distinct()
    )
    seen: dict[str, str] = {}
    for code, name in packages:
        seen.setdefault(code, f"{name} ({code})")
    return {"tenants": tenants, "packages": sorted(seen.items(), key=lambda kv: kv[1].lower())}


# --- the case detail ---------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # webhook | callback | status | note | attempt | action
    title: str
    outcome: str = ""
    detail: list[str] = field(default_factory=list)
    reason: str = ""
    actor: str = ""
    event_id: int | None = None
    note_id: int | None = None
    order: int = 0  # tie-break for entries at the same instant


@dataclass
class CaseDetail:
    order: Order
    services: list[ScreeningService]
    notes: list[LeverNote]
    timeline: list[TimelineEntry]
    can_cancel: bool
    failed_note_ids: set[int]
    key_timeline: list[TimelineEntry] = field(default_factory=list)
    cancel: CancelRequest | None = None  # the latest cancellation asked for
    lever_marker: str = ""  # "Lever not updated — 1 failed note", when Lever is behind

    @property
    def cancel_pending(self) -> bool:
        return self.cancel is not None and self.cancel.state in (
            CancelRequest.State.PENDING,
            CancelRequest.State.SENDING,
        )


def lever_marker(failed: int, blocked: int) -> str:
    """What a case row and header say when Lever has not got every note of the case."""
    if not failed and not blocked:
        return ""
    parts = []
    if failed:
        parts.append(f"{failed} failed note{'' if failed == 1 else 's'}")
    if blocked:
        parts.append(f"{blocked} blocked")
    return "Lever not updated — " + ", ".join(parts)


def annotate_lever_markers(orders: Iterable[Order]) -> None:
    """Set `lever_marker` on each order of a page: one query for the whole page."""
    orders = list(orders)
    counts: dict[int, dict[str, int]] = {}
    rows = (
        LeverNote.objects.filter(order_id__in=[o.pk for o in orders], state__in=_NOTE_TROUBLE)
        .values_list("order_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for order_id, state, n in rows:
        counts.setdefault(order_id, {})[state] = n
    for order in orders:
        c = counts.get(order.pk, {})
        order.lever_marker = lever_marker(  # type: ignore[attr-defined]  # for the list template
            c.get(LeverNote.State.FAILED, 0), c.get(LeverNote.State.BLOCKED, 0)
        )


def case_detail(*, order: Order) -> CaseDetail:
    """The whole history of one (already scoped) order, one query per table."""
    services = list(order.services.all())
    notes = list(order.notes.all().order_by("created_at", "id"))
    attempts = list(NoteAttempt.objects.filter(note__order=order).order_by("started_at", "id"))
    history = list(order.history.all())
    actions = list(order.actions.all())
    event_ids = Q(order=order)
    if order.trigger_event_id:
        event_ids |= Q(pk=order.trigger_event_id)
    events = list(InboundEvent.objects.filter(event_ids).defer("raw_body"))
    timeline = _timeline(events, history, notes, attempts, actions)
    from orders.services.orders import CANCELLABLE

    cancel = order.cancel_requests.order_by("-created_at", "-id").first()
    failed = sum(1 for n in notes if n.state == LeverNote.State.FAILED)
    blocked = sum(1 for n in notes if n.state == LeverNote.State.BLOCKED)
    return CaseDetail(
        order=order,
        services=services,
        notes=notes,
        timeline=timeline,
        can_cancel=order.status in CANCELLABLE
        and bool(order.screening_id)
        and not (cancel is not None and cancel.state in ("pending", "sending")),
        failed_note_ids={n.pk for n in notes if n.state == LeverNote.State.FAILED},
        key_timeline=_key_events(timeline, notes),
        cancel=cancel,
        lever_marker=lever_marker(failed, blocked),
    )


# Timeline entries that are plumbing: every webhook and callback as it arrived, each delivery
# attempt, each note as queued. "Key events" shows what happened to the case instead.
_PLUMBING_KINDS = {"webhook", "callback", "attempt", "note"}
_PLUMBING_OUTCOMES = {StatusEvent.Outcome.STALE, StatusEvent.Outcome.DUPLICATE}


def _key_events(entries: list[TimelineEntry], notes: list[LeverNote]) -> list[TimelineEntry]:
    """The case's story, newest first: status changes, actions, refusals and failures, and one
    row per Lever note (queued and delivered merged)."""
    key = []
    for e in entries:
        if e.kind == "callback" and e.outcome == StatusEvent.Outcome.APPLIED:
            key.append(dataclasses.replace(e, kind="status", detail=[]))
        elif e.kind in _PLUMBING_KINDS or e.outcome in _PLUMBING_OUTCOMES:
            if e.kind == "webhook" and e.outcome == InboundEvent.State.FAILED:
                key.append(e)
        else:
            key.append(dataclasses.replace(e, detail=[]) if e.kind == "status" else e)
    for n in notes:
        lines = n.text.splitlines()
        detail = [lines[1] if len(lines) > 1 else n.text]
        if n.state == LeverNote.State.DELIVERED and n.delivered_at:
            reason = f"Delivered to Lever {_iso(n.delivered_at)} UTC"
            reason += f" after {n.attempts} attempts." if n.attempts > 1 else "."
        elif n.state in (LeverNote.State.FAILED, LeverNote.State.BLOCKED):
            reason = n.last_error or "Waiting behind a failed note of this case."
        else:
            reason = ""
        key.append(
            TimelineEntry(
                at=n.created_at,
                kind="error" if n.state == LeverNote.State.FAILED else "note",
                title=f"Lever note #{n.pk} ({n.get_kind_display().lower()}"
                + (", resync" if n.is_resync else "")
                + ")",
                outcome=n.state,
                detail=detail,
                reason=reason,
                note_id=n.pk,
                order=2,
            )
        )
    key.sort(key=lambda e: (e.at, e.order), reverse=True)
    return key


def _event_title(event: InboundEvent) -> str:
    if event.source == InboundEvent.Source.LEVER:
        return (
            "Lever webhook: stage change"
            if event.event_type == "candidateStageChange"
            else f"Lever webhook: {event.event_type}"
        )
    return "Backcheck callback"


def _timeline(
    events: Iterable[InboundEvent],
    history: Iterable[StatusEvent],
    notes: Iterable[LeverNote],
    attempts: Iterable[NoteAttempt],
    actions: Iterable[OrderAction],
) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    by_event = {e.pk: e for e in events}
    explained: set[int] = set()
    for s in history:
        event = by_event.get(s.inbound_event_id) if s.inbound_event_id else None
        change = (
            f"{status_label(s.from_status) if s.from_status else '—'} → {status_label(s.to_status)}"
            if s.to_status and s.from_status != s.to_status
            else ""
        )
        arrived = [
            f"{label}: {value}"
            for label, value in (
                ("Arrived status", s.arrived_status),
                ("Piecemeal", s.arrived_piecemeal_status),
                ("Score", s.arrived_score),
                ("Updated at", s.arrived_updated_at and _iso(s.arrived_updated_at) + " UTC"),
            )
            if value
        ]
        if event is not None and event.source == InboundEvent.Source.BACKCHECK:
            explained.add(event.pk)
            title = _event_title(event)
            if event.state == InboundEvent.State.FAILED:
                arrived.append(f"Processing failed: {event.last_error or event.reason}")
        else:
            title = s.get_source_display()
        refused = (
            s.source == StatusEvent.Source.CANCEL and s.outcome == StatusEvent.Outcome.REJECTED
        )
        if refused:
            title = "Cancellation refused" if "refused" in s.reason else "Cancellation not sent"
        entries.append(
            TimelineEntry(
                at=s.created_at,
                kind="error"
                if refused
                else ("callback" if title == "Backcheck callback" else "status"),
                title=title + (f": {change}" if change else ""),
                outcome=s.outcome,
                detail=arrived,
                reason=s.reason,
                actor=s.actor,
                event_id=s.inbound_event_id,
                order=1,
            )
        )
    for e in events:
        if e.pk in explained:
            continue
        detail = []
        if e.source == InboundEvent.Source.LEVER:
            if e.to_stage_id:
                detail.append(f"To stage: {e.to_stage_id}")
            if e.signature_verified is not None:
                detail.append(f"Signature verified: {'yes' if e.signature_verified else 'no'}")
        if e.attempts:
            detail.append(f"Processing attempts: {e.attempts}")
        if e.last_error and e.state == InboundEvent.State.FAILED:
            detail.append(f"Error: {e.last_error}")
        entries.append(
            TimelineEntry(
                at=e.received_at,
                kind="webhook" if e.source == InboundEvent.Source.LEVER else "callback",
                title=_event_title(e),
                outcome=e.outcome or e.state,
                detail=detail,
                reason=e.reason,
                event_id=e.pk,
                order=0,
            )
        )
    for n in notes:
        entries.append(
            TimelineEntry(
                at=n.created_at,
                kind="note",
                title=f"Lever note #{n.pk} queued ({n.get_kind_display().lower()}"
                + (", resync" if n.is_resync else "")
                + ")",
                outcome=n.state,
                detail=[n.text.splitlines()[1] if len(n.text.splitlines()) > 1 else n.text],
                note_id=n.pk,
                order=2,
            )
        )
    for a in attempts:
        detail = [f"HTTP status: {a.http_status or '—'}", f"Duration: {a.duration_ms} ms"]
        entries.append(
            TimelineEntry(
                at=a.started_at,
                kind="attempt",
                title=f"Lever note #{a.note_id} delivery attempt",
                outcome=a.outcome,
                detail=detail,
                reason=a.error,
                note_id=a.note_id,
                order=3,
            )
        )
    for act in actions:
        entries.append(
            TimelineEntry(
                at=act.created_at,
                kind="action",
                title=f"Action: {act.action.replace('_', ' ')}",
                outcome="recorded",
                reason=act.detail,
                actor=act.actor,
                order=4,
            )
        )
    entries.sort(key=lambda e: (e.at, e.order), reverse=True)
    return entries


# --- needs attention ---------------------------------------------------------------------------


@dataclass
class Attention:
    failed_notes: list[LeverNote]
    failed_notes_total: int
    blocked_notes: list[LeverNote]
    blocked_notes_total: int
    failed_events: list[InboundEvent]
    failed_events_total: int
    cannot_order: list[Order]
    cannot_order_total: int
    failed_submits: list[Order]
    failed_submits_total: int
    failed_cancels: list[CancelRequest]
    failed_cancels_total: int
    refused_cancels: list[CancelRequest]
    refused_cancels_total: int
    quiet_orders: list[Order]
    quiet_orders_total: int
    days: int


def attention(*, user: AnyUser, days: int = DEFAULT_QUIET_DAYS) -> Attention:
    notes = (
        with_tenant(scoped(LeverNote.objects.all(), user))
        .select_related("order")
        .defer("order__state", "order__pending_callback_password")
    )
    failed = notes.filter(state=LeverNote.State.FAILED).order_by("-created_at", "-id")
    blocked = notes.filter(state=LeverNote.State.BLOCKED).order_by("-created_at", "-id")
    events = (
        with_tenant(scoped(InboundEvent.objects.all(), user))
        .filter(state=InboundEvent.State.FAILED)
        .defer("raw_body")
        .order_by("-received_at", "-id")
    )
    newer = Order.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        opportunity_id=OuterRef("opportunity_id"),
        created_at__gt=OuterRef("created_at"),
    )
    cannot_order = (
        with_tenant(scoped(Order.objects.all(), user))
        .filter(status="Error")
        .exclude(cannot_order="")
        .filter(~Exists(newer))
        .defer("state", "pending_callback_password")
        .order_by("-created_at", "-id")
    )
    submits = (
        with_tenant(scoped(Order.objects.all(), user))
        .filter(submit_state=Order.SubmitState.FAILED, state__isnull=True)
        .defer("pending_callback_password")
        .order_by("-created_at", "-id")
    )
    cancels = (
        with_tenant(scoped(CancelRequest.objects.all(), user, "order__tenant"), "order__tenant")
        .select_related("order")
        .defer("order__state", "order__pending_callback_password")
        .order_by("-created_at", "-id")
    )
    failed_cancels = cancels.filter(state=CancelRequest.State.FAILED)
    refused_cancels = cancels.filter(state=CancelRequest.State.REFUSED, dismissed_at__isnull=True)
    quiet = (
        with_tenant(scoped(Order.objects.all(), user))
        .filter(quiet_q(days=days))
        .defer("state")
        .order_by("created_at", "id")
    )
    return Attention(
        failed_notes=list(failed[:ATTENTION_LIMIT]),
        failed_notes_total=failed.count(),
        blocked_notes=list(blocked[:ATTENTION_LIMIT]),
        blocked_notes_total=blocked.count(),
        failed_events=list(events[:ATTENTION_LIMIT]),
        failed_events_total=events.count(),
        cannot_order=list(cannot_order[:ATTENTION_LIMIT]),
        cannot_order_total=cannot_order.count(),
        failed_submits=list(submits[:ATTENTION_LIMIT]),
        failed_submits_total=submits.count(),
        failed_cancels=list(failed_cancels[:ATTENTION_LIMIT]),
        failed_cancels_total=failed_cancels.count(),
        refused_cancels=list(refused_cancels[:ATTENTION_LIMIT]),
        refused_cancels_total=refused_cancels.count(),
        quiet_orders=list(quiet[:ATTENTION_LIMIT]),
        quiet_orders_total=quiet.count(),
        days=days,
    )


def attention_count(*, user: AnyUser, days: int = DEFAULT_QUIET_DAYS) -> int:
    """Everything the Needs attention page asks someone to act on (blocked notes wait behind a
    failed one, which is counted). Counted once per request."""
    cached = getattr(user, "_attention_count", None)
    if cached is not None:
        return cached
    orders = scoped(Order.objects.all(), user)
    newer = Order.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        opportunity_id=OuterRef("opportunity_id"),
        created_at__gt=OuterRef("created_at"),
    )
    cancels = scoped(CancelRequest.objects.all(), user, "order__tenant")
    total = (
        scoped(LeverNote.objects.filter(state=LeverNote.State.FAILED), user).count()
        + scoped(InboundEvent.objects.filter(state=InboundEvent.State.FAILED), user).count()
        + orders.filter(submit_state=Order.SubmitState.FAILED, state__isnull=True).count()
        + orders.filter(status="Error").exclude(cannot_order="").filter(~Exists(newer)).count()
        + cancels.filter(
            Q(state=CancelRequest.State.FAILED)
            | Q(state=CancelRequest.State.REFUSED, dismissed_at__isnull=True)
        ).count()
        + orders.filter(quiet_q(days=days)).count()
    )
    try:
        user._attention_count = total  # type: ignore[union-attr]  # per-request cache
    except AttributeError:
        pass
    return total


# --- tenant health -----------------------------------------------------------------------------


@dataclass
class TenantHealth:
    tenant: Tenant
    last_webhook_at: datetime | None
    last_callback_at: datetime | None
    last_note_delivered_at: datetime | None
    last_error_at: datetime | None
    last_error: str
    failed_notes: int

    @property
    def check_status(self) -> str:
        result = self.tenant.last_check_result or {}
        return str(result.get("status") or "")

    @property
    def lever_warnings(self) -> list[dict]:
        """Lever reads the key was refused (403), newest first: [{"read", "at", "detail"}]."""
        warnings = self.tenant.lever_permission_warnings or {}
        rows = [
            {"read": read, "at": str(w.get("at") or ""), "detail": str(w.get("detail") or "")}
            for read, w in warnings.items()
            if isinstance(w, dict)
        ]
        for row in rows:
            row["seen"] = row["at"][:16].replace("T", " ")  # UTC, like the page's other times
        return sorted(rows, key=lambda row: row["at"], reverse=True)


_ERROR_OUTCOMES = (
    NoteAttempt.Outcome.PERMANENT,
    NoteAttempt.Outcome.TRANSIENT,
    NoteAttempt.Outcome.AMBIGUOUS,
)


def tenant_health(*, tenants: QuerySet[Tenant]) -> list[TenantHealth]:
    """Health of each tenant in `tenants` (already scoped to the user): one query in all."""
    inbound = InboundEvent.objects.filter(tenant=OuterRef("pk")).order_by("-received_at")
    last_error = NoteAttempt.objects.filter(
        note__tenant=OuterRef("pk"), outcome__in=_ERROR_OUTCOMES
    ).order_by("-started_at", "-id")
    failed_event = InboundEvent.objects.filter(
        tenant=OuterRef("pk"), state=InboundEvent.State.FAILED
    ).order_by("-received_at", "-id")
    rows = (
        tenants.defer(*TENANT_SECRETS)
        .annotate(
            h_webhook=Subquery(
                inbound.filter(source=InboundEvent.Source.LEVER).values("received_at")[:1]
            ),
            h_callback=Subquery(
                inbound.filter(source=InboundEvent.Source.BACKCHECK).values("received_at")[:1]
            ),
            h_delivered=Subquery(
                LeverNote.objects.filter(tenant=OuterRef("pk"), state=LeverNote.State.DELIVERED)
                .order_by()
                .values("tenant")
                .annotate(m=Max("delivered_at"))
                .values("m")[:1]
            ),
            h_attempt_error_at=Subquery(last_error.values("started_at")[:1]),
            h_attempt_error=Subquery(last_error.values("error")[:1]),
            h_event_error_at=Subquery(failed_event.values("received_at")[:1]),
            h_event_error=Subquery(failed_event.values("reason")[:1]),
            h_failed_notes=Subquery(
                LeverNote.objects.filter(tenant=OuterRef("pk"), state=LeverNote.State.FAILED)
                .order_by()
                .values("tenant")
                .annotate(c=Count("id"))
                .values("c")[:1]
            ),
        )
        .order_by("name")
    )
    result = []
    for t in rows:
        error_at, error = t.h_attempt_error_at, t.h_attempt_error or ""
        if t.h_event_error_at and (error_at is None or t.h_event_error_at > error_at):
            error_at, error = t.h_event_error_at, t.h_event_error or ""
        result.append(
            TenantHealth(
                tenant=t,
                last_webhook_at=t.h_webhook,
                last_callback_at=t.h_callback,
                last_note_delivered_at=t.h_delivered,
                last_error_at=error_at,
                last_error=error,
                failed_notes=t.h_failed_notes or 0,
            )
        )
    return result


def tenant_health_for_user(*, user: AnyUser) -> list[TenantHealth]:
    return tenant_health(tenants=tenants_visible_to(user))


def is_active_status(status: str) -> bool:
    return status in ACTIVE_STATUSES
