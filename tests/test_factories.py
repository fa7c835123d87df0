"""The factories in tests/support build valid rows, one factory per model, with tenants' secrets
encrypted at rest as the set-up pages store them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from connectors.models import Tenant
from tests.support import factories

# Rows the application writes itself and no test builds: the encryption canary is written once
# by the key check (connectors/canary.py); the attempt tally by each attempt's save
# (orders/models/notes.py NoteAttempt.save).
NOT_BUILT_BY_TESTS = {"connectors.EncryptionCanary", "orders.NoteAttemptTally"}
OUR_APPS = ("connectors", "orders", "api_tokens")


def _factory_models() -> set[str]:
    return {
        value._meta.model._meta.label
        for value in vars(factories).values()
        if isinstance(value, type)
        and issubclass(value, factories.DjangoModelFactory)
        and value._meta.model is not None
    }


def test_every_model_of_the_portal_has_a_factory():
    models = {
        model._meta.label
        for config in apps.get_app_configs()
        if config.label in OUR_APPS
        for model in config.get_models()
    }
    missing = models - _factory_models() - NOT_BUILT_BY_TESTS
    assert missing == set()


@pytest.mark.django_db
def test_a_tenant_s_secrets_are_encrypted_at_rest_and_read_back():
    tenant = factories.TenantFactory(slug="acme", lever_api_key="lever-key-acme-canary-0001")
    with connection.cursor() as cursor:
        cursor.execute("SELECT lever_api_key FROM connectors_tenant WHERE id = %s", [tenant.pk])
        stored = cursor.fetchone()[0]
    assert "lever-key-acme-canary-0001" not in stored
    fresh = Tenant.objects.get(pk=tenant.pk)
    assert fresh.lever_api_key.reveal() == "lever-key-acme-canary-0001"
    assert fresh.backcheck_client_secret.reveal() == "bc-secret-acme-0123456789"
    assert list(fresh.packages.values_list("code", "is_default")) == [("std-ca", True)]


@pytest.mark.django_db
def test_each_factory_builds_a_row_that_passes_model_validation():
    tenant = factories.TenantFactory(managers=[factories.AccountManagerFactory()])
    order = factories.OrderFactory(tenant=tenant)
    rows = [
        tenant,
        factories.PackageFactory(tenant=tenant),
        factories.TenantAuditEntryFactory(tenant=tenant),
        factories.IntakeLinkFactory(tenant=tenant),
        factories.SuperAdminFactory(),
        factories.UserProfileFactory(),
        factories.ApiTokenFactory(),
        order,
        factories.InboundEventFactory(tenant=tenant),
        factories.ScreeningServiceFactory(order=order),
        factories.StatusEventFactory(order=order),
        factories.NoteAttemptFactory(note=factories.LeverNoteFactory(order=order)),
        factories.CancelRequestFactory(order=order),
        factories.OrderActionFactory(order=order),
    ]
    for row in rows:
        row.full_clean()
    assert tenant.account_managers.count() == 1


@pytest.mark.django_db
def test_the_clear_values_of_a_token_and_a_link_match_what_is_stored():
    from connectors.tenants.intake_links import intake_token_digest
    from integration_portal.api_tokens.models import token_digest

    token = factories.ApiTokenFactory()
    link = factories.IntakeLinkFactory()
    assert token_digest(token.clear_token) == token.key_hash
    assert intake_token_digest(link.token) == link.token_hmac
    assert link.state == "open"
