"""Tokens of rest_framework.authtoken (stored in plain text) become hashed, expiring tokens.

Each keeps working for DEFAULT_TTL_DAYS from the upgrade under the same value; the plain-text
rows are deleted. Nothing happens where that table never existed.
"""

import hashlib
from datetime import timedelta

from django.db import migrations
from django.utils import timezone

TTL_DAYS = 90


def convert(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("api_tokens", "ApiToken")
    expires = timezone.now() + timedelta(days=TTL_DAYS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
        for key, user_id, created in rows:
            ApiToken.objects.create(
                user_id=user_id,
                name="converted",
                prefix=key[:8],
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                created_at=created,
                expires_at=expires,
            )
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [("api_tokens", "0001_initial")]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop)]
