"""No query in the code locks a row it only joins (orders/tests/test_write_contention.py says why).

`select_for_update()` with `select_related()` locks every joined table's rows too: the tenant
row, that every insert for the tenant checks at commit. Such a query must name what it locks
(`of=("self",)`).
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _chain(node: ast.expr) -> list[ast.Call]:
    """The calls of a method chain: `a.b().c()` gives [c(), b()]."""
    calls = []
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call):
            calls.append(node)
            node = node.func
        else:
            node = node.value
    return calls


def _joined_locks(source: str) -> set[int]:
    """Lines of select_for_update() calls without `of=` chained with select_related()."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        chain = _chain(node)
        names = {c.func.attr for c in chain if isinstance(c.func, ast.Attribute)}
        if "select_related" not in names:
            continue
        for call in chain:
            locks = isinstance(call.func, ast.Attribute) and call.func.attr == "select_for_update"
            if locks and not any(k.arg == "of" for k in call.keywords):
                lines.add(call.lineno)
    return lines


def test_the_check_finds_a_joined_lock():
    assert _joined_locks("Order.objects.select_for_update().select_related('tenant').get()")
    assert _joined_locks("Order.objects.select_related('tenant').select_for_update().get()")
    assert not _joined_locks(
        "Order.objects.select_for_update(of=('self',)).select_related('tenant').get()"
    )
    assert not _joined_locks("Order.objects.select_for_update().get(pk=1)")


def test_no_query_in_the_code_locks_a_row_it_only_joins():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in ("orders", "connectors", "integration_portal")
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
        for line in sorted(_joined_locks(path.read_text()))
    ]
    assert not found, f"select_for_update() with select_related() and no of=: {found}"
