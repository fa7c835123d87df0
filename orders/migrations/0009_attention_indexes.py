"""Partial indexes for Needs attention, its count and tenant health (docs/PERFORMANCE.md §4).

Each section reads "the newest 100 of a few rows among a million" and counts them: without an
index on exactly those few rows, an empty section scanned every order of the tenant. Partial
indexes stay as small as the trouble they index. PostgreSQL only (CREATE INDEX … WHERE is
written here, not on the models, so the model state stays the portable one); on SQLite, the
embedded demo, nothing is created.
"""

from django.db import migrations

INDEXES = {
    "order_submit_failed": (
        "orders_order (tenant_id, created_at) WHERE submit_state = 'failed' AND state IS NULL"
    ),
    "order_cannot_order": (
        "orders_order (tenant_id, created_at) WHERE status = 'Error' AND cannot_order <> ''"
    ),
    "order_quiet": "orders_order (tenant_id, created_at) WHERE is_active",
    "note_trouble": (
        "orders_levernote (tenant_id, created_at) WHERE state IN ('failed', 'blocked')"
    ),
    # Tenant health's count of failed notes, from the index alone.
    "note_failed": "orders_levernote (tenant_id, created_at) WHERE state = 'failed'",
    "inbound_failed": "orders_inboundevent (tenant_id, received_at) WHERE state = 'failed'",
    # Tenant health's "last error": the newest failed delivery attempt, not a sort of them all.
    "noteattempt_error": (
        "orders_noteattempt (started_at, id) "
        "WHERE outcome IN ('permanent', 'transient', 'ambiguous')"
    ),
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_order_hour_counts"),
    ]

    operations = [migrations.RunPython(forward, backward)]
