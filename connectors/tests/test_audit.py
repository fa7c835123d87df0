"""The tenant audit trail has one writer (connectors/tenants/audit.py, docs/CONTRACT.md §4)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from connectors.models import TenantAuditEntry
from connectors.tenants.audit import DETAIL_MAX, record_tenant_action

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "connectors" / "tenants" / "audit.py"


def _writes_audit_entries(tree: ast.AST) -> list[int]:
    """Lines that call TenantAuditEntry.objects.<create|bulk_create|get_or_create|...>."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("create", "bulk_create", "get_or_create", "update_or_create")
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "objects"
            and isinstance(node.func.value.value, ast.Name)
            and node.func.value.value.id == "TenantAuditEntry"
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_audit_module_writes_tenant_audit_entries():
    offenders = []
    for path in ROOT.glob("**/*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in (".venv", "var") or "tests" in relative.parts or path == WRITER:
            continue
        for line in _writes_audit_entries(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{relative}:{line}")
    assert offenders == [], "write audit entries through record_tenant_action: " + ", ".join(
        offenders
    )
    assert _writes_audit_entries(ast.parse(WRITER.read_text())), (
        "the scan no longer sees the writer"
    )


@pytest.mark.django_db
def test_an_entry_names_the_actor_and_keeps_a_bounded_detail(super_admin, tenant):
    by_user = record_tenant_action(tenant, super_admin, "setting_changed", "name", "x" * 900)
    by_cli = record_tenant_action(tenant, "cli", "secret_cleared", "lever_api_key")
    assert (by_user.actor, by_user.actor_label) == (super_admin, super_admin.get_username())
    assert len(by_user.detail) == DETAIL_MAX
    assert (by_cli.actor, by_cli.actor_label, by_cli.field) == (None, "cli", "lever_api_key")
    assert (
        TenantAuditEntry.objects.filter(tenant=tenant, pk__in=[by_user.pk, by_cli.pk]).count() == 2
    )
