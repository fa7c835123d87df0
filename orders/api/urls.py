from django.urls import path

from orders.api import inbound, orders

urlpatterns = [
    path(
        "webhooks/lever/<str:webhook_id>/", inbound.LeverWebhookView.as_view(), name="lever-webhook"
    ),
    path(
        "callbacks/backcheck/", inbound.BackcheckCallbackView.as_view(), name="backcheck-callback"
    ),
    path("orders/", orders.OrderListApi.as_view(), name="api-order-list"),
    path("orders/<int:order_id>/", orders.OrderDetailApi.as_view(), name="api-order-detail"),
    path("orders/<int:order_id>/resync/", orders.OrderResyncApi.as_view(), name="api-order-resync"),
    path("orders/<int:order_id>/cancel/", orders.OrderCancelApi.as_view(), name="api-order-cancel"),
]
