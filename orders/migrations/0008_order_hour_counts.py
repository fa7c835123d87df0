"""Orders per (tenant, UTC hour of creation, status), maintained by PostgreSQL triggers.

The orders list's per-status counts, its total and its chart read these few thousand rows instead
of counting a million orders on every request (docs/PERFORMANCE.md §4). Every write to
orders_order keeps them exact, whoever makes it (services, admin, a migration, psql): the
triggers fire on INSERT, DELETE, TRUNCATE and on an UPDATE that changes the tenant, the creation
time or the status. On SQLite (the embedded demo) nothing is created and the pages count the
orders themselves (orders/selectors/counts.py).
"""

from django.db import migrations

TABLE = "orders_order_hour_count"

FORWARD = f"""
CREATE TABLE {TABLE} (
    tenant_id bigint NOT NULL,
    hour timestamp NOT NULL,  -- date_trunc('hour', created_at AT TIME ZONE 'UTC')
    status varchar(32) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (tenant_id, hour, status)
)
--

CREATE FUNCTION {TABLE}_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE {TABLE} SET n = n - 1
         WHERE tenant_id = OLD.tenant_id
           AND hour = date_trunc('hour', OLD.created_at AT TIME ZONE 'UTC')
           AND status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {TABLE} (tenant_id, hour, status, n)
        VALUES (NEW.tenant_id, date_trunc('hour', NEW.created_at AT TIME ZONE 'UTC'), NEW.status, 1)
        ON CONFLICT (tenant_id, hour, status) DO UPDATE SET n = {TABLE}.n + 1;
    END IF;
    RETURN NULL;
END
$$
--

CREATE FUNCTION {TABLE}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {TABLE};
    RETURN NULL;
END
$$
--

CREATE TRIGGER {TABLE}_insert_delete AFTER INSERT OR DELETE ON orders_order
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_row()
--
CREATE TRIGGER {TABLE}_update AFTER UPDATE OF tenant_id, created_at, status ON orders_order
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR OLD.created_at IS DISTINCT FROM NEW.created_at
          OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION {TABLE}_row()
--
CREATE TRIGGER {TABLE}_truncate AFTER TRUNCATE ON orders_order
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_truncate()
--

-- The orders that exist already.
INSERT INTO {TABLE} (tenant_id, hour, status, n)
SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC'), status, count(*)
  FROM orders_order
 GROUP BY 1, 2, 3
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS {TABLE}_truncate ON orders_order;
DROP TRIGGER IF EXISTS {TABLE}_update ON orders_order;
DROP TRIGGER IF EXISTS {TABLE}_insert_delete ON orders_order;
DROP FUNCTION IF EXISTS {TABLE}_truncate();
DROP FUNCTION IF EXISTS {TABLE}_row();
DROP TABLE IF EXISTS {TABLE};
"""


def _run(schema_editor, script: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in script.split("\n--\n"):
        if statement.strip():
            schema_editor.execute(statement)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD.replace(";\n", "\n--\n"))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_note_attempt_tally"),
    ]

    operations = [migrations.RunPython(forward, backward)]
