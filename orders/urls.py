from django.urls import path

from orders.views import attention, case, launch, order_list, profile

urlpatterns = [
    path("", order_list.order_list, name="order-list"),
    path("orders/export.csv", order_list.order_export, name="order-export"),
    path("orders/launch/", launch.order_launch_view, name="order-launch"),
    path("orders/<int:order_id>/", case.order_detail, name="order-detail"),
    path(
        "orders/<int:order_id>/events/<int:event_id>/",
        case.inbound_event_detail,
        name="order-event",
    ),
    path("orders/<int:order_id>/resync/", case.order_resync_view, name="order-resync"),
    path("orders/<int:order_id>/cancel/", case.order_cancel_view, name="order-cancel"),
    path("orders/<int:order_id>/try-again/", case.order_try_again_view, name="order-try-again"),
    path(
        "orders/<int:order_id>/notes/<int:note_id>/replay/",
        case.note_action_view,
        {"action": "replay"},
        name="note-replay",
    ),
    path(
        "orders/<int:order_id>/notes/<int:note_id>/skip/",
        case.note_action_view,
        {"action": "skip"},
        name="note-skip",
    ),
    path("attention/", attention.attention_view, name="attention"),
    path("attention/replay/", attention.attention_replay, name="attention-replay"),
    path("attention/dismiss/", attention.attention_dismiss, name="attention-dismiss"),
    path("profile/", profile.profile_view, name="profile"),
]
