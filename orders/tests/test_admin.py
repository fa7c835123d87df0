"""The orders admin: super-admins only, read-only, nothing deletable, secrets never shown,
actions through the services."""

from __future__ import annotations

import pytest
from django.contrib import admin as django_admin
from django.urls import reverse

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
from tests.support.history import (
    callback,
    dashboard_tenant,
    failed_event,
    failed_note,
    make_order,
)

pytestmark = pytest.mark.django_db

MODELS = [
    InboundEvent,
    Order,
    ScreeningService,
    StatusEvent,
    LeverNote,
    NoteAttempt,
    OrderAction,
    CancelRequest,
]


@pytest.fixture
def world(account_manager):
    tenant = dashboard_tenant("acme", managers=(account_manager,))
    order = make_order(tenant, name="Ada Lovelace", status="Initiated")
    callback(order, status="In Progress")
    note = failed_note(order)
    OrderAction.objects.create(order=order, actor="x", action="resync")
    CancelRequest.objects.create(order=order, requested_by="x", state="refused")
    event = failed_event(tenant)
    return {"order": order, "note": note, "event": event}


@pytest.fixture
def root(client, super_admin):
    client.force_login(super_admin)
    return client


def _url(model, view, *args):
    return reverse(f"admin:orders_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_orders_model_has_a_changelist_and_a_read_only_change_page(root, world, model):
    obj = model.objects.first()
    assert root.get(_url(model, "changelist")).status_code == 200
    page = root.get(_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # view only


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_nothing_is_deletable_or_addable(root, world, model, rf, super_admin):
    model_admin = django_admin.site._registry[model]
    request = rf.get("/")
    request.user = super_admin
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.has_add_permission(request) is False
    obj = model.objects.first()
    assert root.get(_url(model, "delete", obj.pk)).status_code == 403
    assert root.get(_url(model, "add")).status_code == 403


def test_order_admin_never_shows_the_callback_password_or_its_hash(root, world):
    order = Order.objects.get(pk=world["order"].pk)
    page = root.get(_url(Order, "change", order.pk)).content.decode()
    assert "callback_password_hash" not in page and "pending_callback_password" not in page
    assert order.callback_password_hash not in page
    assert "Ada Lovelace" in page
    listing = root.get(_url(Order, "changelist")).content.decode()
    assert order.callback_password_hash not in listing


def test_order_admin_shows_history_inlines(root, world):
    page = root.get(_url(Order, "change", world["order"].pk)).content.decode()
    assert "Status events" in page and "Lever notes" in page and "Order actions" in page


def test_account_managers_cannot_use_the_admin(client, account_manager, django_user_model, world):
    client.force_login(account_manager)
    response = client.get(_url(Order, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = django_user_model.objects.create_user("staffer", password="pw-staff-1", is_staff=True)
    client.force_login(staff)
    assert client.get(_url(Order, "changelist")).status_code == 403


def test_admin_resync_action_calls_the_service(root, world, super_admin):
    order = world["order"]
    response = root.post(
        _url(Order, "changelist"),
        {"action": "resync_to_lever", "_selected_action": [order.pk]},
    )
    assert response.status_code == 302
    assert LeverNote.objects.filter(order=order, is_resync=True).exists()
    assert OrderAction.objects.filter(
        order=order, action="resync", actor=super_admin.username
    ).exists()


def test_admin_note_replay_and_event_replay_actions_call_the_services(root, world):
    root.post(
        _url(LeverNote, "changelist"),
        {"action": "replay_notes", "_selected_action": [world["note"].pk]},
    )
    assert LeverNote.objects.get(pk=world["note"].pk).state == "pending"
    root.post(
        _url(InboundEvent, "changelist"),
        {"action": "replay_events", "_selected_action": [world["event"].pk]},
    )
    assert InboundEvent.objects.get(pk=world["event"].pk).state == "received"


def test_admin_search_and_filters_work(root, world):
    response = root.get(
        _url(Order, "changelist"), {"q": "Lovelace", "status__exact": "In Progress"}
    )
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [world["order"]]
