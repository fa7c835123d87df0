"""Tasks a web request queues are published once its answer is sent (integration_portal/publishing.py).

Publishes are observed through Celery's own `before_task_publish` signal, on the test broker.
"""

from __future__ import annotations

import json

import pytest
from celery import signals
from django.db import transaction
from django.test import RequestFactory

from integration_portal.publishing import PublishAfterResponseMiddleware, enqueue
from orders.api.inbound import LeverWebhookView
from orders.models import InboundEvent
from orders.tasks import process_inbound
from orders.tests.conftest import signed

# Real commits: on_commit callbacks must run when the INSERT commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published():
    """(task name, args, headers) of every message published while the test runs."""
    seen: list[tuple[str, list, dict]] = []

    def record(sender=None, body=None, headers=None, **_):
        seen.append((sender, list(body[0]) if body else [], dict(headers or {})))

    signals.before_task_publish.connect(record, weak=False)
    yield seen
    signals.before_task_publish.disconnect(record)


def test_the_task_of_a_stored_webhook_is_published_after_the_answer(tenant, published):
    webhook = LeverWebhookView.as_view()
    handler = PublishAfterResponseMiddleware(lambda r: webhook(r, webhook_id=tenant.webhook_id))
    request = RequestFactory().post(
        f"/api/v1/webhooks/lever/{tenant.webhook_id}/",
        data=json.dumps(signed()),
        content_type="application/json",
    )
    response = handler(request)
    assert response.status_code == 200 and response.data == {"status": "accepted"}
    event = InboundEvent.objects.get()  # stored before the answer...
    assert published == []  # ...and not published yet
    response.close()  # what the WSGI server does once the answer is written
    assert [(name, args) for name, args, _ in published] == [(process_inbound.name, [event.pk])]


def test_the_request_id_travels_with_a_deferred_publish(client, tenant, published):
    response = client.post(
        f"/api/v1/webhooks/lever/{tenant.webhook_id}/",
        data=json.dumps(signed()),
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-0123456789abcdef",
    )
    assert response.status_code == 200
    [(name, _args, headers)] = published
    assert name == process_inbound.name
    assert headers.get("portal_request_id") == "req-0123456789abcdef"


def test_outside_a_request_work_is_published_as_soon_as_it_commits(published):
    with transaction.atomic():
        enqueue(process_inbound.name, 12345)
        assert published == []  # not before the commit
    assert [(name, args) for name, args, _ in published] == [(process_inbound.name, [12345])]
