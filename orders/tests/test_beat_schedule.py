"""What beat publishes is a task a worker knows, and the fold task does its job."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from integration_portal.celery import app
from orders.tasks import fold_order_counts
from tests.support.factories import TenantFactory
from tests.support.history import make_order


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "orders.fold_order_counts" in names
    assert names <= set(app.tasks), names - set(app.tasks)


@pytest.mark.django_db
def test_the_fold_task_empties_the_pending_deltas(postgres):
    make_order(TenantFactory(), status="Initiated")
    assert fold_order_counts.apply().get() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM orders_order_hour_delta")
        assert cursor.fetchone()[0] == 0
