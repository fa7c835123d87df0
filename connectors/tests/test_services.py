"""Tenant services: validation, audit rows (names, never values), atomic writes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from connectors.models import Package, Tenant, TenantAuditEntry
from connectors.tenants import credentials, packages, services
from tests.support.canaries import (
    CANARIES,
    CANARY_API_KEY,
    CANARY_CLIENT_SECRET,
    CANARY_TOKEN,
    assert_no_canary,
)

pytestmark = pytest.mark.django_db

NEW_TOKEN = "new-signature-token-0123456789abcdef"


def audit_text(tenant) -> str:
    return " ".join(
        f"{e.actor_label} {e.action} {e.field} {e.detail}"
        for e in TenantAuditEntry.objects.filter(tenant=tenant)
    )


def test_creating_a_tenant_resolves_the_lever_preset_and_is_audited(super_admin):
    tenant = services.tenant_create(
        actor=super_admin,
        name="Acme",
        slug="acme",
        lever_base_url="eu",
        trigger_stage_ids="stage-a, stage-b\nstage-a",
    )
    assert tenant.lever_base_url == "https://api.eu.lever.co/v1"
    assert tenant.trigger_stage_ids == ["stage-a", "stage-b"]
    entry = TenantAuditEntry.objects.get(tenant=tenant)
    assert (entry.actor, entry.actor_label, entry.action) == (super_admin, "root-admin", "created")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "bad slug"}, "slug"),
        ({"slug": "new"}, "slug"),
        ({"name": "  "}, "name"),
        ({"lever_base_url": "ftp://lever.example"}, "lever_base_url"),
        ({"lever_base_url": "not a url"}, "lever_base_url"),
        ({"backcheck_base_url": "backcheck"}, "backcheck_base_url"),
        ({"note_author_user_id": "two words"}, "note_author_user_id"),
    ],
)
def test_bad_tenant_input_is_refused_and_nothing_is_written(changes, field):
    values = {"actor": "cli", "name": "Acme", "slug": "acme", **changes}
    with pytest.raises(ValidationError) as info:
        services.tenant_create(**values)
    assert field in info.value.error_dict
    assert not Tenant.objects.exists() and not TenantAuditEntry.objects.exists()


def test_duplicate_slug_is_refused(tenant):
    with pytest.raises(ValidationError, match="already exists"):
        services.tenant_create(actor="cli", name="Again", slug="acme")


def test_update_audits_each_changed_field_without_its_value(tenant, super_admin):
    changed = services.tenant_update(
        tenant=tenant,
        actor=super_admin,
        name="Acme Renamed",
        piecemeal=True,
        cma=False,
        note_author_user_id="user-secret-looking-value",
    )
    assert changed == ["name", "piecemeal", "note_author_user_id"]
    rows = TenantAuditEntry.objects.filter(tenant=tenant, action="setting_changed")
    assert sorted(rows.values_list("field", flat=True)) == sorted(changed)
    assert "Acme Renamed" not in audit_text(tenant)
    assert "user-secret-looking-value" not in audit_text(tenant)
    assert Tenant.objects.get(pk=tenant.pk).name == "Acme Renamed"


def test_update_with_one_bad_value_changes_nothing(tenant):
    before = TenantAuditEntry.objects.count()
    with pytest.raises(ValidationError):
        services.tenant_update(
            tenant=tenant, actor="cli", name="Half Written", lever_base_url="nope"
        )
    assert Tenant.objects.get(pk=tenant.pk).name == "Acme Corp"
    assert TenantAuditEntry.objects.count() == before


def test_secrets_are_audited_by_field_name_only(other_tenant):
    for name, value in (
        ("lever-api-key", CANARY_API_KEY),
        ("backcheck-client-secret", CANARY_CLIENT_SECRET),
    ):
        credentials.tenant_set_secret(tenant=other_tenant, actor="cli", name=name, value=value)
    text = audit_text(other_tenant)
    assert "secret_set lever_api_key" in text
    assert "secret_set backcheck_client_secret" in text
    for canary in CANARIES:
        assert canary not in text


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("lever-api-key", "", "empty"),
        ("lever-api-key", "   \n", "empty"),
        ("lever-api-key", "short-key", "20-200"),
        ("lever-api-key", "has a space in the middle of it", "20-200"),
        ("lever-api-key", "x" * 201, "20-200"),
        ("lever-signature-token", "tab\tinside-the-token-value", "20-200"),
        ("lever-signature-token", "non-ascii-é-token-value-here", "20-200"),
        ("backcheck-client-secret", "two words", "printable"),
        ("backcheck-client-id", "", "empty"),
    ],
)
def test_badly_formed_secrets_are_refused_without_echoing_them(other_tenant, name, value, problem):
    with pytest.raises(ValidationError) as info:
        credentials.tenant_set_secret(tenant=other_tenant, actor="cli", name=name, value=value)
    message = " ".join(info.value.messages)
    assert problem in message
    if value.strip():
        assert value.strip() not in message
    assert getattr(Tenant.objects.get(pk=other_tenant.pk), name.replace("-", "_")) is None


def test_unknown_secret_name_is_refused(tenant):
    with pytest.raises(ValidationError, match="Unknown secret"):
        credentials.tenant_set_secret(tenant=tenant, actor="cli", name="password", value="x" * 30)


def test_a_new_signature_token_keeps_the_old_one_valid_until_retired(tenant, super_admin):
    assert credentials.tenant_set_secret(
        tenant=tenant, actor=super_admin, name="lever-signature-token", value=NEW_TOKEN
    )
    stored = Tenant.objects.get(pk=tenant.pk)
    assert stored.lever_signature_token.reveal() == NEW_TOKEN
    assert stored.lever_signature_token_previous.reveal() == CANARY_TOKEN
    assert credentials.tenant_retire_previous_token(tenant=tenant, actor=super_admin)
    stored = Tenant.objects.get(pk=tenant.pk)
    assert stored.lever_signature_token.reveal() == NEW_TOKEN
    assert stored.lever_signature_token_previous is None
    assert credentials.tenant_retire_previous_token(tenant=tenant, actor=super_admin) is False
    actions = list(
        TenantAuditEntry.objects.filter(tenant=tenant, actor=super_admin)
        .order_by("id")
        .values_list("action", "field")
    )
    assert actions == [
        ("secret_replaced", "lever_signature_token"),
        ("secret_replaced", "lever_signature_token_previous"),
        ("secret_retired", "lever_signature_token_previous"),
    ]


def test_setting_the_same_secret_again_is_not_a_change(tenant):
    before = TenantAuditEntry.objects.count()
    assert not credentials.tenant_set_secret(
        tenant=tenant, actor="cli", name="lever-signature-token", value=CANARY_TOKEN + "\n"
    )
    assert Tenant.objects.get(pk=tenant.pk).lever_signature_token_previous is None
    assert TenantAuditEntry.objects.count() == before


def test_a_new_default_package_takes_over_from_the_old_one(tenant):
    first = tenant.packages.get(code="std-ca")
    second = packages.package_add(
        tenant=tenant, actor="cli", code="exec", name="Executive", lever_tag="exec", is_default=True
    )
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    packages.package_update(package=first, actor="cli", is_default=True)
    assert list(tenant.packages.filter(is_default=True).values_list("code", flat=True)) == [
        "std-ca"
    ]


def test_package_codes_and_tags_are_unique_within_a_tenant(tenant, other_tenant):
    packages.package_add(tenant=tenant, actor="cli", code="exec", name="Exec", lever_tag="VIP")
    with pytest.raises(ValidationError, match="already in use"):
        packages.package_add(tenant=tenant, actor="cli", code="exec", name="Again")
    with pytest.raises(ValidationError, match="already uses the tag"):
        packages.package_add(
            tenant=tenant, actor="cli", code="exec2", name="Exec 2", lever_tag="vip"
        )
    # Another tenant's catalog is separate.
    packages.package_add(
        tenant=other_tenant, actor="cli", code="exec", name="Exec", lever_tag="VIP"
    )


def test_package_changes_are_audited_and_removal_deletes(tenant):
    package = packages.package_add(tenant=tenant, actor="cli", code="exec-ca", name="Executive")
    assert packages.package_update(package=package, actor="cli", name="Std", lever_tag="ca") == [
        "name",
        "lever_tag",
    ]
    packages.package_remove(package=package, actor="cli")
    assert not Package.objects.filter(pk=package.pk).exists()
    fields = set(
        TenantAuditEntry.objects.filter(tenant=tenant, action__startswith="package").values_list(
            "action", "field"
        )
    )
    assert fields == {
        ("package_added", "packages"),
        ("package_changed", "packages.name"),
        ("package_changed", "packages.lever_tag"),
        ("package_removed", "packages"),
    }


def test_assigning_managers_sets_exactly_the_given_users(
    tenant, super_admin, account_manager, other_account_manager
):
    summary = services.tenant_assign_managers(
        tenant=tenant, actor=super_admin, users=[account_manager, other_account_manager]
    )
    assert summary == ["added am-alice", "added am-bob"]
    summary = services.tenant_assign_managers(
        tenant=tenant, actor=super_admin, users=[other_account_manager]
    )
    assert summary == ["removed am-alice"]
    assert list(tenant.account_managers.all()) == [other_account_manager]
    assert TenantAuditEntry.objects.filter(tenant=tenant, action="managers_changed").count() == 3


def test_inactive_users_cannot_be_assigned(tenant, account_manager):
    account_manager.is_active = False
    account_manager.save()
    with pytest.raises(ValidationError, match="Inactive"):
        services.tenant_assign_managers(tenant=tenant, actor="cli", users=[account_manager])
    assert not tenant.account_managers.exists()


def test_service_errors_and_logs_never_carry_a_secret(tenant, caplog):
    caplog.set_level("DEBUG")
    credentials.tenant_set_secret(tenant=tenant, actor="cli", name="lever-api-key", value="z" * 40)
    services.tenant_update(tenant=tenant, actor="cli", name="Logged")
    credentials.tenant_retire_previous_token(tenant=tenant, actor="cli")
    assert_no_canary(caplog.text)
    assert "z" * 40 not in caplog.text


def test_webhooks_signed_with_either_token_verify_until_the_old_one_is_retired(tenant):
    from connectors.lever.signature import compute_signature, signature_matches

    def signed_with(token_value: str) -> dict:
        body = {"token": "delivery-token-0001", "triggeredAt": 1764115200000}
        body["signature"] = compute_signature(token_value, body["token"], body["triggeredAt"])
        return body

    def tokens() -> list:
        stored = Tenant.objects.get(pk=tenant.pk)
        return [stored.lever_signature_token, stored.lever_signature_token_previous]

    credentials.tenant_set_secret(
        tenant=tenant, actor="cli", name="lever-signature-token", value=NEW_TOKEN
    )
    assert signature_matches(signed_with(NEW_TOKEN), tokens())
    assert signature_matches(signed_with(CANARY_TOKEN), tokens())
    credentials.tenant_retire_previous_token(tenant=tenant, actor="cli")
    assert signature_matches(signed_with(NEW_TOKEN), tokens())
    assert not signature_matches(signed_with(CANARY_TOKEN), tokens())
