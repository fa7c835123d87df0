"""Django admin for every orders model — super-admins only, read-only, nothing deletable.

History is never deleted (docs/CONTRACT.md §7): every model here refuses delete, add and edit. What an
operator may do to a case goes through the same services as the dashboard, as admin actions
(resync, cancel, replay/skip a note, replay an event), so the audit rows are written the same way.
The callback password (while pending) and its hash are never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from connectors.models import Tenant
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
from orders.services.notes import note_replay, note_skip
from orders.services.order_cancellation import order_request_cancel
from orders.services.order_records import InvalidOrderState
from orders.services.order_sync import order_resync
from orders.services.stage_change import inbound_replay

# Never rendered anywhere in the admin, not even masked: they are useless to a person.
HIDDEN_FIELDS = ("pending_callback_password", "callback_password_hash")


def _readable_fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in model._meta.get_fields()
        if f.concrete and not f.many_to_many and f.name not in HIDDEN_FIELDS
    )


class ReadOnlyHistory:
    """Super-admins view; nobody adds, edits or deletes history through the admin."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)  # type: ignore[misc]
        related = getattr(self, "list_select_related", ()) or ()
        # Listing rows never needs a tenant's secrets (decrypting them per row was most of a
        # changelist's time) nor an order's state snapshot or pending callback password.
        deferred = []
        if "tenant" in related:
            deferred += [f"tenant__{f}" for f in Tenant.secret_field_names()]
        if "order" in related:
            deferred += ["order__state", "order__pending_callback_password"]
        return qs.defer(*deferred) if deferred else qs

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ReadOnlyInline(ReadOnlyHistory, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


class ServiceInline(_ReadOnlyInline):
    model = ScreeningService
    fields = ("position", "name", "status", "score", "completed_at", "report_url")
    readonly_fields = fields


class StatusEventInline(_ReadOnlyInline):
    model = StatusEvent
    fields = ("created_at", "source", "outcome", "from_status", "to_status", "reason", "actor")
    readonly_fields = fields


class NoteInline(_ReadOnlyInline):
    model = LeverNote
    fields = ("created_at", "kind", "state", "attempts", "last_http_status", "last_error", "text")
    readonly_fields = fields


class ActionInline(_ReadOnlyInline):
    model = OrderAction
    fields = ("created_at", "actor", "action", "detail")
    readonly_fields = fields


class AttemptInline(_ReadOnlyInline):
    model = NoteAttempt
    fields = ("started_at", "outcome", "http_status", "duration_ms", "error", "task_id")
    readonly_fields = fields


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


def _apply_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    act: Callable[[Any], object],  # its answer is not used
    *,
    label: str,
    refused: type[Exception],
) -> None:
    """Act on each selected row; report how many worked and why the others did not."""
    done, problems = 0, []
    for obj in queryset:
        try:
            act(obj)
            done += 1
        except refused as exc:
            problems.append(f"{label} {obj.pk}: {exc}")
    if done:
        modeladmin.message_user(request, f"Done for {done}.", messages.SUCCESS)
    for problem in problems:
        modeladmin.message_user(request, problem, messages.ERROR)


@admin.register(Order)
class OrderAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = (
        "id",
        "order_number",
        "candidate_name",
        "tenant",
        "package_code",
        "status",
        "score",
        "is_active",
        "submit_state",
        "created_at",
        "last_heard_at",
        "dashboard_link",
    )
    list_filter = ("tenant", "status", "score", "is_active", "submit_state", "created_at")
    search_fields = ("=id", "candidate_name", "candidate_email", "=order_number", "=opportunity_id")
    list_select_related = ("tenant",)
    raw_id_fields = ("tenant", "package", "trigger_event")
    readonly_fields = (*_readable_fields(Order), "dashboard_link")
    exclude = HIDDEN_FIELDS
    inlines = (ServiceInline, StatusEventInline, NoteInline, ActionInline)
    show_full_result_count = False
    list_per_page = 50
    actions = ("resync_to_lever", "request_cancel")

    @admin.display(description="Dashboard")
    def dashboard_link(self, obj: Order) -> str:
        return format_html('<a href="{}">case page</a>', reverse("order-detail", args=[obj.pk]))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("state", "pending_callback_password")

    @admin.action(description="Resync the selected orders to Lever")
    def resync_to_lever(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = _actor(request)
        _apply_each(
            self,
            request,
            queryset,
            lambda o: order_resync(order=o, actor=actor),
            label="Order",
            refused=InvalidOrderState,
        )

    @admin.action(description="Ask Backcheck to cancel the selected orders")
    def request_cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = _actor(request)
        _apply_each(
            self,
            request,
            queryset,
            lambda o: order_request_cancel(order=o, actor=actor),
            label="Order",
            refused=InvalidOrderState,
        )


@admin.register(LeverNote)
class LeverNoteAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = (
        "id",
        "tenant",
        "order",
        "kind",
        "state",
        "attempts",
        "last_http_status",
        "created_at",
        "delivered_at",
    )
    list_filter = ("state", "kind", "is_resync", "tenant")
    search_fields = ("=id", "=opportunity_id", "=order__id", "=order__order_number")
    list_select_related = ("tenant", "order")
    raw_id_fields = ("tenant", "order", "inbound_event")
    readonly_fields = _readable_fields(LeverNote)
    inlines = (AttemptInline,)
    show_full_result_count = False
    actions = ("replay_notes", "skip_notes")

    @admin.action(description="Replay the selected failed notes")
    def replay_notes(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = _actor(request)
        _apply_each(
            self,
            request,
            queryset,
            lambda n: note_replay(note=n, actor=actor),
            label="Note",
            refused=ValueError,
        )

    @admin.action(description="Skip the selected failed notes")
    def skip_notes(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = _actor(request)
        _apply_each(
            self,
            request,
            queryset,
            lambda n: note_skip(note=n, actor=actor),
            label="Note",
            refused=ValueError,
        )


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = (
        "id",
        "source",
        "tenant",
        "event_type",
        "state",
        "outcome",
        "order",
        "opportunity_id",
        "received_at",
    )
    list_filter = ("source", "state", "outcome", "event_type", "tenant")
    search_fields = ("=id", "=opportunity_id", "=order__id", "=lever_event_id")
    list_select_related = ("tenant", "order")
    raw_id_fields = ("tenant", "order")
    readonly_fields = _readable_fields(InboundEvent)
    show_full_result_count = False
    actions = ("replay_events",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        # The body can be large; the changelist never shows it.
        url_name = getattr(request.resolver_match, "url_name", "") or ""
        return qs if url_name.endswith("_change") else qs.defer("raw_body")

    @admin.action(description="Process the selected failed Lever events again")
    def replay_events(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply_each(
            self,
            request,
            queryset,
            lambda e: inbound_replay(event=e),
            label="Event",
            refused=ValueError,
        )


@admin.register(StatusEvent)
class StatusEventAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ("id", "order", "source", "outcome", "from_status", "to_status", "created_at")
    list_filter = ("source", "outcome", "to_status")
    search_fields = ("=order__id", "=order__order_number", "payload_hash")
    list_select_related = ("order",)
    raw_id_fields = ("order", "inbound_event")
    readonly_fields = _readable_fields(StatusEvent)
    show_full_result_count = False


@admin.register(NoteAttempt)
class NoteAttemptAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ("id", "note", "outcome", "http_status", "duration_ms", "started_at")
    list_filter = ("outcome", "http_status")
    search_fields = ("=note__id", "task_id")
    list_select_related = ("note",)
    raw_id_fields = ("note",)
    readonly_fields = _readable_fields(NoteAttempt)
    show_full_result_count = False


@admin.register(ScreeningService)
class ScreeningServiceAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ("id", "order", "name", "status", "score", "completed_at")
    list_filter = ("status", "score")
    search_fields = ("=order__id", "name", "service_id")
    list_select_related = ("order",)
    raw_id_fields = ("order",)
    readonly_fields = _readable_fields(ScreeningService)
    show_full_result_count = False


@admin.register(CancelRequest)
class CancelRequestAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ("id", "order", "state", "attempts", "requested_by", "created_at", "finished_at")
    list_filter = ("state",)
    search_fields = ("=order__id", "=order__order_number", "requested_by")
    list_select_related = ("order",)
    raw_id_fields = ("order",)
    readonly_fields = _readable_fields(CancelRequest)
    show_full_result_count = False


@admin.register(OrderAction)
class OrderActionAdmin(ReadOnlyHistory, admin.ModelAdmin):
    list_display = ("id", "order", "actor", "action", "detail", "created_at")
    list_filter = ("action",)
    search_fields = ("=order__id", "actor")
    list_select_related = ("order",)
    raw_id_fields = ("order",)
    readonly_fields = _readable_fields(OrderAction)
    show_full_result_count = False
