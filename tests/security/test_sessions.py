"""Sessions end after 8 idle hours, renewed on use (not 14 days after sign-in)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_a_session_ends_after_8_idle_hours_and_each_request_renews_it(client, super_admin):
    assert client.post("/login/", {"username": "root-admin", "password": "pw-root-admin-1"})
    key = client.session.session_key
    expires = Session.objects.get(session_key=key).expire_date
    assert abs((expires - timezone.now()) - timedelta(hours=8)) < timedelta(minutes=1)
    # An hour from the end, one page view gives it 8 hours again.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(hours=1))
    assert client.get("/tenants/").status_code == 200
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed - timezone.now() > timedelta(hours=7, minutes=59)
    assert client.cookies["sessionid"]["max-age"] == 8 * 3600
