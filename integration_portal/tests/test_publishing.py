"""Publishing by task name, after the commit, never failing the caller (docs/CONTRACT.md §7;
integration_portal/publishing.py)."""

from __future__ import annotations

import logging

import pytest
from celery import signals
from django.db import transaction

from integration_portal import publishing

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published():
    """(task name, args, routing key) of every message published while the test runs."""
    seen: list[tuple[str, list, str]] = []

    def record(sender=None, body=None, routing_key=None, **_):
        seen.append((sender, list(body[0]) if body else [], routing_key))

    signals.before_task_publish.connect(record, weak=False)
    yield seen
    signals.before_task_publish.disconnect(record)


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(publishing.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(publishing, "_broken_until", 0.0)
    return now


def test_a_task_is_published_by_name_without_being_imported(published, monkeypatch):
    """The publisher needs no task object: a process that never imported the task still sends
    it, by name. (No such event: a worker that takes the message finds nothing to do.)"""
    monkeypatch.delitem(publishing.celery_app.tasks, "orders.process_inbound")
    publishing.enqueue("orders.process_inbound", 987654321)
    assert published == [("orders.process_inbound", [987654321], "celery")]


def test_work_due_later_goes_to_the_scheduled_queue(published):
    publishing.enqueue("orders.deliver_notes", 987654321, None, countdown=2.5)
    publishing.enqueue("orders.deliver_notes", 987654322, countdown=0)
    assert published == [
        ("orders.deliver_notes", [987654321, None], publishing.SCHEDULED_QUEUE),
        ("orders.deliver_notes", [987654322], "celery"),
    ]


def test_nothing_is_published_for_a_transaction_that_rolls_back(published):
    with pytest.raises(RuntimeError), transaction.atomic():
        publishing.enqueue("orders.submit_order", 1)
        raise RuntimeError("the row was never stored")
    assert published == []


def test_a_broker_outage_opens_the_breaker_instead_of_failing_the_caller(
    monkeypatch, clock, caplog
):
    tries: list[str] = []

    class DownBroker:
        def __init__(self, name: str) -> None:
            self.name = name

        def apply_async(self, **_):
            tries.append(self.name)
            raise ConnectionError("broker down")

    monkeypatch.setattr(publishing.celery_app, "signature", DownBroker)
    with caplog.at_level(logging.WARNING, logger=publishing.__name__):
        publishing.enqueue("orders.submit_order", 1)  # no exception reaches the caller
    assert tries == ["orders.submit_order"]
    assert "the sweeper will retry" in caplog.text

    clock[0] += publishing._BREAKER_S - 0.1
    publishing.enqueue("orders.submit_order", 2)
    assert tries == ["orders.submit_order"]  # skipped while the breaker is open

    clock[0] += 0.2
    publishing.enqueue("orders.submit_order", 3)
    assert tries == ["orders.submit_order", "orders.submit_order"]  # tried again after it
