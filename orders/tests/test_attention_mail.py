"""Someone is told: an account manager gets an email when a case of one of their tenants needs
attention — batched (at most one every 15 minutes, listing the cases with links), only for their
own tenants, on by default and turned off on their profile. Django's locmem backend here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import UserProfile
from orders.services.attention_mail import attention_emails_send
from tests.support.history import dashboard_tenant, failed_event, failed_note, make_order

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture
def mail_configured(settings):
    settings.EMAIL_URL = "smtp://smtp.example.test:25"  # the backend stays locmem


@pytest.fixture
def tenants(account_manager, other_account_manager):
    return (
        dashboard_tenant("acme", name="Acme Corp", managers=(account_manager,)),
        dashboard_tenant("globex", name="Globex", managers=(other_account_manager,)),
    )


def test_a_failed_note_emails_the_tenants_manager_with_a_link_to_the_case(
    tenants, account_manager, mailoutbox, mail_configured, settings
):
    settings.PUBLIC_BASE_URL = "https://portal.example.test"
    acme, _ = tenants
    order = make_order(acme, name="Charles Babbage", status="In Progress")
    note = failed_note(order)
    assert attention_emails_send() == 1
    [mail] = mailoutbox
    assert mail.to == [account_manager.email]
    assert mail.subject == "1 case needs attention · Backcheck ↔ Lever portal"
    assert "Charles Babbage (Acme Corp): https://portal.example.test/orders/" in mail.body
    assert f"/orders/{order.pk}/" in mail.body
    assert f"Lever note not delivered: {note.last_error}" in mail.body
    assert "https://portal.example.test/profile/" in mail.body


def test_at_most_one_email_per_15_minutes_then_only_the_new_cases(
    tenants, account_manager, mailoutbox, mail_configured
):
    acme, _ = tenants
    now = timezone.now()
    failed_note(make_order(acme, name="Charles Babbage", status="In Progress"))
    assert attention_emails_send(now=now) == 1
    assert attention_emails_send(now=now + MINUTE) == 0  # nothing new
    make_order(acme, name="Mary Somerville", status="Error")
    failed_event(acme, opportunity_id="opp-ada")
    assert attention_emails_send(now=now + 14 * MINUTE) == 0  # new, but too soon
    assert attention_emails_send(now=now + 15 * MINUTE + MINUTE) == 1
    assert len(mailoutbox) == 2
    second = mailoutbox[1]
    assert second.subject.startswith("2 cases need attention")
    assert "Mary Somerville" in second.body and "Charles Babbage" not in second.body
    assert "1 earlier item still need attention." in second.body
    assert attention_emails_send(now=now + 40 * MINUTE) == 0


def test_only_managers_of_the_tenant_are_told(
    tenants, other_account_manager, mailoutbox, mail_configured
):
    acme, _ = tenants
    failed_note(make_order(acme, name="Charles Babbage", status="In Progress"))
    attention_emails_send()
    assert [m.to for m in mailoutbox] == [["alice@example.test"]]
    assert other_account_manager.email not in {a for m in mailoutbox for a in m.to}


def test_the_profile_setting_is_on_by_default_and_turns_the_emails_off(
    tenants, client, account_manager, mailoutbox, mail_configured
):
    acme, _ = tenants
    client.force_login(account_manager)
    page = client.get(reverse("profile")).content.decode()
    assert 'name="attention_emails"' in page and "checked" in page
    response = client.post(reverse("profile"), {}, follow=True)  # the box unticked
    assert "Attention emails are off." in response.content.decode()
    assert UserProfile.objects.get(user=account_manager).attention_emails is False
    failed_note(make_order(acme, name="Charles Babbage", status="In Progress"))
    assert attention_emails_send() == 0 and mailoutbox == []
    client.post(reverse("profile"), {"attention_emails": "on"})
    assert attention_emails_send() == 1


def test_nothing_is_sent_until_outgoing_mail_is_configured(tenants, mailoutbox):
    acme, _ = tenants
    failed_note(make_order(acme, name="Charles Babbage", status="In Progress"))
    assert attention_emails_send() == 0 and mailoutbox == []


def test_the_beat_schedule_runs_the_attention_emails(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["email-attention"]
    assert schedule["task"] == "orders.email_attention" and schedule["schedule"] <= 60
