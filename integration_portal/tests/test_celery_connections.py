"""A worker keeps its database connection from one task to the next, as Django does across web
requests (integration_portal/celery.py), and still drops one that broke.

The signal handlers are called directly, in the order a worker process runs them, so that this
test process never installs Celery's worker fixup for good.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.contrib.auth import get_user_model
from django.db import connection

from integration_portal.celery import _django_connection_rules, app

# What Celery passes as `sender`: a task whose request did not run eagerly.
WORKER_TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))


def _run_task(fixup: DjangoWorkerFixup, work) -> None:
    fixup.on_task_prerun(WORKER_TASK)
    _django_connection_rules(sender=WORKER_TASK)
    work()
    fixup.on_task_postrun(WORKER_TASK)
    _django_connection_rules(sender=WORKER_TASK)


@pytest.fixture
def fixup(postgres, monkeypatch):
    # PostgreSQL only: CONN_MAX_AGE is what is under test, and SQLite's in-memory test database
    # would vanish with the connection this test breaks on purpose.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()  # the next connection is opened under CONN_MAX_AGE = 60
    yield DjangoWorkerFixup(app)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_consecutive_worker_tasks_share_one_database_connection(fixup):
    connection.ensure_connection()
    first = connection.connection
    for _ in range(3):
        _run_task(fixup, lambda: list(get_user_model().objects.all()[:1]))
    assert connection.connection is first


@pytest.mark.django_db(transaction=True)
def test_a_connection_broken_during_a_task_is_replaced_before_the_next_task(fixup):
    connection.ensure_connection()
    first = connection.connection

    def breaks_the_connection() -> None:
        connection.ensure_connection()
        connection.connection.close()  # as when PostgreSQL restarts under the worker
        connection.errors_occurred = True

    _run_task(fixup, breaks_the_connection)
    _run_task(fixup, lambda: list(get_user_model().objects.all()[:1]))
    assert connection.connection is not first
    assert connection.is_usable()
