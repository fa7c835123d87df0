"""Order API (docs/CONTRACT.md §5): session or token auth, tenant-scoped; another tenant's order → 404.

A read-only viewset on a router: list (filtered by orders/filters.py's OrderFilter, the same
filters as the dashboard), detail, and the `resync` and `cancel` actions.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from integration_portal.api import error_response
from orders.api.serializers import OrderDetailSerializer, OrderListSerializer, QueuedSerializer
from orders.filters import OrderFilter
from orders.models import Order
from orders.selectors.orders import order_get, order_get_with_history, order_list
from orders.services.order_cancellation import order_request_cancel
from orders.services.order_records import InvalidOrderState
from orders.services.order_sync import order_resync

# The path's order id is an integer (the router's regex only says "digits").
_ORDER_ID = OpenApiParameter("order_id", OpenApiTypes.INT, OpenApiParameter.PATH)
_ACTION_SCHEMA = extend_schema(
    description="POST an action on one order: 202 queued, or 409 when the order's state "
    "forbids it.",
    request=None,
    parameters=[_ORDER_ID],
    responses={202: QueuedSerializer, 409: OpenApiResponse(description="invalid_state")},
)


@extend_schema_view(retrieve=extend_schema(parameters=[_ORDER_ID]))
class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OrderListSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    lookup_url_kwarg = "order_id"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Order]:
        return order_list(user=self.request.user)

    def get_object(self) -> Order:
        # Detail and actions read one order through the selectors, never through the list's
        # filters: a stray query parameter on a POST must not turn a found order into a 404.
        try:
            order_id = int(self.kwargs[self.lookup_url_kwarg])
            if self.action == "retrieve":
                return order_get_with_history(user=self.request.user, order_id=order_id)
            return order_get(user=self.request.user, order_id=order_id)
        except Order.DoesNotExist:
            raise NotFound("No such order.") from None

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return OrderDetailSerializer if self.action == "retrieve" else OrderListSerializer

    def _act(self, perform: Callable[..., object]) -> Response:
        """202 queued, or 409 when the order's state forbids the action."""
        order = self.get_object()
        try:
            perform(order=order, actor=self.request.user.get_username())
        except InvalidOrderState as exc:
            return error_response("invalid_state", str(exc), status.HTTP_409_CONFLICT)
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)

    @_ACTION_SCHEMA
    @action(detail=True, methods=["post"])
    def resync(self, request: Request, order_id: str) -> Response:
        return self._act(order_resync)

    @_ACTION_SCHEMA
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, order_id: str) -> Response:
        return self._act(order_request_cancel)
