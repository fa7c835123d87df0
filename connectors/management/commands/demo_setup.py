"""Create the demo super-admin for `make run` and print how to log in. Idempotent."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create (or reset) the demo super-admin and print its login."

    def handle(self, *args, **options) -> None:
        from django.conf import settings

        if not settings.DEBUG:
            raise CommandError("demo_setup is for the local demo only (DJANGO_DEBUG is off).")
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "")
        if not password:
            raise CommandError("DEMO_ADMIN_PASSWORD is not set; run scripts/write_env.py first.")
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username="admin", defaults={"email": "admin@example.test"}
        )
        user.is_superuser = user.is_staff = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"\n  Demo login: {settings.PUBLIC_BASE_URL}/login/  "
            f"user 'admin', password '{password}'\n"
        )
