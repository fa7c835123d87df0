"""The hourly order counts take changes as appended deltas, folded in later.

Migration 0008's triggers updated one shared row per (tenant, hour, status) inside every writer's
transaction, and held its lock until that transaction ended. Two workers changing the statuses of
one tenant's orders created in the same hour then waited on each other, and, locking two rows each
(the old status's and the new one's) in different orders, deadlocked; PostgreSQL aborted one of
them and its job had to be retried.

Now a trigger only appends (tenant, hour, status, ±1) rows to orders_order_hour_delta: an insert
locks nothing another writer needs. orders_order_counts (a view) adds the deltas to the folded
counts, so readers stay exact at any moment. orders_order_hour_fold() moves the deltas into
orders_order_hour_count in one statement; beat runs it (orders.services.order_counts), one fold
at a time, and only the fold ever updates a count row.
"""

from django.db import migrations

COUNTS = "orders_order_hour_count"
DELTAS = "orders_order_hour_delta"

FORWARD = f"""
CREATE TABLE {DELTAS} (
    tenant_id bigint NOT NULL,
    hour timestamp NOT NULL,  -- date_trunc('hour', created_at AT TIME ZONE 'UTC')
    status varchar(32) NOT NULL,
    n integer NOT NULL
)
--

CREATE OR REPLACE FUNCTION {COUNTS}_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO {DELTAS} (tenant_id, hour, status, n)
        VALUES (OLD.tenant_id, date_trunc('hour', OLD.created_at AT TIME ZONE 'UTC'), OLD.status, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {DELTAS} (tenant_id, hour, status, n)
        VALUES (NEW.tenant_id, date_trunc('hour', NEW.created_at AT TIME ZONE 'UTC'), NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$
--

CREATE OR REPLACE FUNCTION {COUNTS}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {COUNTS}, {DELTAS};
    RETURN NULL;
END
$$
--

CREATE VIEW orders_order_counts AS
SELECT tenant_id, hour, status, n FROM {COUNTS}
UNION ALL
SELECT tenant_id, hour, status, n FROM {DELTAS}
--

CREATE FUNCTION orders_order_hour_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    folded bigint;
BEGIN
    -- One fold at a time: two would update the same count rows, perhaps in opposite orders.
    IF NOT pg_try_advisory_xact_lock(hashtext('orders_order_hour_fold')) THEN
        RETURN 0;
    END IF;
    -- The deltas this snapshot sees leave and land in one statement; deltas committed meanwhile
    -- stay for the next fold. Readers see either both sides before or both after.
    WITH moved AS (
        DELETE FROM {DELTAS} RETURNING tenant_id, hour, status, n
    ), summed AS (
        SELECT tenant_id, hour, status, SUM(n) AS n, COUNT(*) AS deltas
          FROM moved GROUP BY tenant_id, hour, status
    ), landed AS (
        INSERT INTO {COUNTS} (tenant_id, hour, status, n)
        SELECT tenant_id, hour, status, n FROM summed
        ON CONFLICT (tenant_id, hour, status) DO UPDATE SET n = {COUNTS}.n + EXCLUDED.n
    )
    SELECT COALESCE(SUM(deltas), 0) INTO folded FROM summed;
    RETURN folded;
END
$$
"""

BACKWARD = f"""
SELECT orders_order_hour_fold()
--
DROP FUNCTION orders_order_hour_fold()
--
DROP VIEW orders_order_counts
--

CREATE OR REPLACE FUNCTION {COUNTS}_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE {COUNTS} SET n = n - 1
         WHERE tenant_id = OLD.tenant_id
           AND hour = date_trunc('hour', OLD.created_at AT TIME ZONE 'UTC')
           AND status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {COUNTS} (tenant_id, hour, status, n)
        VALUES (NEW.tenant_id, date_trunc('hour', NEW.created_at AT TIME ZONE 'UTC'), NEW.status, 1)
        ON CONFLICT (tenant_id, hour, status) DO UPDATE SET n = {COUNTS}.n + 1;
    END IF;
    RETURN NULL;
END
$$
--

CREATE OR REPLACE FUNCTION {COUNTS}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {COUNTS};
    RETURN NULL;
END
$$
--
DROP TABLE {DELTAS}
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
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_personal_data_erasure"),
    ]

    operations = [migrations.RunPython(forward, backward)]
