"""The one definition of what the order filters mean (docs/CONTRACT.md §5, "Order filters").

`OrderFilter` serves the order API (`DjangoFilterBackend`, documented by drf-spectacular);
`DashboardOrderFilter` adds the dashboard's own controls (needs attention, quiet days, sort) and
serves the orders list, its chart and counts, and the CSV export. Both filter with the same
methods, so the same parameters answer the same rows on a page, in a CSV and from the API.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.validators import validate_slug
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from orders.case_rules import (
    DEFAULT_QUIET_DAYS,
    SCORES,
    SORTS,
    STATUS_LABELS,
    STATUS_ORDER,
    attention_q,
)
from orders.models import Order
from orders.state import LEVER_STATUS

# A Lever candidate URL pasted into the search box: https://hire.lever.co/candidates/<id>[/...]
_CANDIDATE_URL_ID = re.compile(r"/candidates/([A-Za-z0-9-]{6,100})")


def day_start(day: date) -> datetime:
    """Midnight of `day` in the configured time zone (settings.TIME_ZONE)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def search_q(q: str) -> Q:
    """What the search box and the API's `q` match (docs/CONTRACT.md §5, "Order filters")."""
    # Names and emails by case-insensitive substring: the trigram GIN indexes on UPPER(column)
    # serve `icontains` (migration 0002, PostgreSQL). Reference numbers and opportunity ids match
    # exactly, so their btree indexes serve them.
    cond = (
        Q(candidate_name__icontains=q)
        | Q(candidate_email__icontains=q)
        | Q(order_number__in={q, q.upper()})
        | Q(opportunity_id=q)
    )
    match = _CANDIDATE_URL_ID.search(q)
    if match:
        cond |= Q(opportunity_id=match.group(1))
    if q.isdigit() and len(q) <= 18:  # an order id; longer digit strings overflow bigint
        cond |= Q(pk=int(q))
    return cond


class StrictNullBooleanField(forms.NullBooleanField):
    """true/false/1/0, or nothing; anything else is an error (NullBooleanField reads "maybe" as
    "not given", so a typo silently dropped the filter)."""

    TRUE, FALSE = {"true", "1", "on", "yes"}, {"false", "0", "off", "no"}
    # A text input hands the raw value on; NullBooleanSelect maps anything unknown to None.
    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # None: not given
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Must be a valid boolean.", code="invalid")

    def validate(self, value: Any) -> None:
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField


def _text_filter(max_length: int, pattern: str | None = None) -> type[django_filters.CharFilter]:
    """A CharFilter whose length limit (and pattern) the OpenAPI schema states too."""
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": max_length}
    if pattern:
        schema["pattern"] = pattern
    return extend_schema_field(schema)(type("TextFilter", (django_filters.CharFilter,), {}))


_Slug = _text_filter(64, pattern=r"^[-a-zA-Z0-9_]+$")
_Text100 = _text_filter(100)
_Text200 = _text_filter(200)


class OrderFilter(django_filters.FilterSet):
    """The order filters (API parameters; the dashboard adds its own controls below)."""

    tenant = _Slug(field_name="tenant__slug", max_length=64, validators=[validate_slug])
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in LEVER_STATUS], method="filter_status"
    )
    score = django_filters.ChoiceFilter(choices=[(s, s) for s in SCORES])
    package = _Text100(field_name="package_code", max_length=100)
    opportunity_id = _Text100(max_length=100)
    active = StrictBooleanFilter(field_name="is_active")
    created_from = django_filters.DateFilter(method="filter_created_from")
    created_to = django_filters.DateFilter(method="filter_created_to")
    q = _Text200(method="filter_search", max_length=200)

    class Meta:
        model = Order
        fields: list[str] = []

    # Filters left out when one number must be counted over "everything else" (each status
    # count says what clicking that status would show).
    def filter_queryset(self, queryset: QuerySet, *, without: frozenset[str] = frozenset()):
        for name, value in self.form.cleaned_data.items():
            if name not in without:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # "pending" is how URLs name the empty status (an order Backcheck has not answered).
        return queryset.filter(status="" if value == "pending" else value)

    # Half-open ranges on created_at itself, never created_at::date: the (tenant, created_at)
    # index serves them. Days are days of the configured time zone.
    def filter_created_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__gte=day_start(value))

    def filter_created_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__lt=day_start(value + timedelta(days=1)))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(search_q(value)) if value else queryset


class CheckboxFilter(django_filters.Filter):
    field_class = forms.BooleanField


def _sort_choices() -> list[tuple[str, str]]:
    # (key, label when descending, label when ascending)
    labels = {
        "created": ("Created, newest first", "Created, oldest first"),
        "updated": ("Last change, newest first", "Last change, oldest first"),
        "heard": ("Last heard, newest first", "Last heard, oldest first"),
        "candidate": ("Candidate, Z–A", "Candidate, A–Z"),
        "status": ("Status, Z–A", "Status, A–Z"),
        "score": ("Score, Z–A", "Score, A–Z"),
        "tenant": ("Tenant, Z–A", "Tenant, A–Z"),
        "number": ("Reference number, descending", "Reference number, ascending"),
    }
    choices = []
    for key in SORTS:
        desc, asc = labels[key]
        choices.append((f"-{key}", desc))
        choices.append((key, asc))
    return choices


class DashboardOrderFilter(OrderFilter):
    """The orders list's and CSV export's filters: the API's, with pick lists of the user's
    tenants and packages, plus needs-attention, quiet days and sort.

    A value that does not validate is dropped (and shown as an error), never fatal: a bookmarked
    URL with a stale filter still shows a list.
    """

    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        max_length=300,
        help_text="Candidate name or email, reference number, Lever opportunity id or URL",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    tenant = django_filters.ChoiceFilter(
        field_name="tenant__slug", label="Tenant", empty_label="All tenants"
    )
    status = django_filters.ChoiceFilter(
        label="Status",
        empty_label="Any status",
        choices=[(s or "pending", STATUS_LABELS[s]) for s in STATUS_ORDER],
        method="filter_status",
    )
    score = django_filters.ChoiceFilter(
        label="Score", empty_label="Any score", choices=[(s, s) for s in SCORES]
    )
    package = django_filters.ChoiceFilter(
        field_name="package_code", label="Package", empty_label="Any package"
    )
    created_from = django_filters.DateFilter(
        method="filter_created_from",
        label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_to = django_filters.DateFilter(
        method="filter_created_to",
        label="Created to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    attention = CheckboxFilter(label="Needs attention only", method="filter_attention")
    days = django_filters.NumberFilter(
        label="Quiet for (days)",
        method="filter_nothing",
        min_value=1,
        max_value=365,
        help_text="With “needs attention”: active orders with no update for this many days",
        widget=forms.NumberInput(attrs={"placeholder": str(DEFAULT_QUIET_DAYS)}),
    )
    sort = django_filters.ChoiceFilter(
        label="Sort by", choices=_sort_choices(), method="filter_nothing"
    )

    def __init__(self, data: Any = None, *, choices: dict[str, list[tuple[str, str]]], **kw):
        super().__init__(data, **kw)
        self.filters["tenant"].extra["choices"] = choices["tenants"]
        self.filters["package"].extra["choices"] = choices["packages"]

    def filter_queryset(self, queryset: QuerySet, *, without: frozenset[str] = frozenset()):
        queryset = super().filter_queryset(queryset, without=without)
        if "tenant" in self.form.errors and "tenant" not in without:
            # A tenant the user cannot see matches nothing (never "all tenants").
            queryset = queryset.filter(tenant__slug=str(self.data.get("tenant"))[:64])
        return queryset

    def filter_attention(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(attention_q(days=self.values()["days"]))

    def filter_nothing(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset  # read by the page (sort, quiet days), not a filter of its own

    def values(self) -> dict[str, Any]:
        """The valid values by name (status: None for any, "" for pending); days defaulted."""
        self.is_valid()
        data = {name: self.form.cleaned_data.get(name) for name in self.filters}
        if "tenant" in self.form.errors:
            data["tenant"] = str(self.data.get("tenant"))[:64]
        status = data.get("status")
        data["status"] = None if not status else ("" if status == "pending" else status)
        data["days"] = int(data.get("days") or DEFAULT_QUIET_DAYS)
        return data
