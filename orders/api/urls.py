from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api import inbound, orders

# SimpleRouter, not DefaultRouter: no API root view, the URLs are exactly those of
# docs/CONTRACT.md §5 (api-order-list, -detail, -resync, -cancel).
router = SimpleRouter()
router.register("orders", orders.OrderViewSet, basename="api-order")

urlpatterns = [
    path(
        "webhooks/lever/<str:webhook_id>/", inbound.LeverWebhookView.as_view(), name="lever-webhook"
    ),
    path(
        "callbacks/backcheck/", inbound.BackcheckCallbackView.as_view(), name="backcheck-callback"
    ),
    *router.urls,
]
