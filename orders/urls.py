from django.urls import path

from orders import views

urlpatterns = [
    path("", views.order_list, name="order-list"),
    path("orders/export.csv", views.order_export, name="order-export"),
    path("orders/launch/", views.order_launch_view, name="order-launch"),
    path("orders/<int:order_id>/", views.order_detail, name="order-detail"),
    path(
        "orders/<int:order_id>/events/<int:event_id>/",
        views.inbound_event_detail,
        name="order-event",
    ),
    path("orders/<int:order_id>/resync/", views.order_resync_view, name="order-resync"),
    path("orders/<int:order_id>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("orders/<int:order_id>/try-again/", views.order_try_again_view, name="order-try-again"),
    path(
        "orders/<int:order_id>/notes/<int:note_id>/replay/",
        views.note_action_view,
        {"action": "replay"},
        name="note-replay",
    ),
    path(
        "orders/<int:order_id>/notes/<int:note_id>/skip/",
        views.note_action_view,
        {"action": "skip"},
        name="note-skip",
    ),
    path("attention/", views.attention_view, name="attention"),
    path("attention/replay/", views.attention_replay, name="attention-replay"),
    path("attention/dismiss/", views.attention_dismiss, name="attention-dismiss"),
    path("profile/", views.profile_view, name="profile"),
]
