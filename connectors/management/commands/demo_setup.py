"""Set up the local demo (`make run`): the demo super-admin, and a demo tenant wired to the fake
Lever and fake Backcheck servers that `scripts/run_portal.py` starts. Idempotent."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connectors.demo_data import (
    DEMO_BACKCHECK_CLIENT_ID,
    DEMO_BACKCHECK_CLIENT_SECRET,
    DEMO_SEED,
)
from connectors.models import Package, Tenant

DEMO_SLUG = "demo"


def demo_ports() -> tuple[int, int]:
    return (
        int(os.environ.get("DEMO_LEVER_PORT", "8101")),
        int(os.environ.get("DEMO_BACKCHECK_PORT", "8102")),
    )


class Command(BaseCommand):
    help = "Create (or reset) the demo super-admin and the demo tenant, and print the login."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_setup is for the local demo only (DJANGO_DEBUG is off).")
        required = ("DEMO_ADMIN_PASSWORD", "DEMO_LEVER_API_KEY", "DEMO_SIGNATURE_TOKEN")
        missing = [name for name in required if not os.environ.get(name)]
        if missing:
            raise CommandError(f"{', '.join(missing)} not set; run scripts/write_env.py first.")
        password = os.environ["DEMO_ADMIN_PASSWORD"]
        with transaction.atomic():
            user, _ = get_user_model().objects.get_or_create(
                username="admin", defaults={"email": "admin@example.test"}
            )
            user.is_superuser = user.is_staff = user.is_active = True
            user.set_password(password)
            user.save()
            self._demo_tenant()
        self.stdout.write(
            f"\n  Demo login: {settings.PUBLIC_BASE_URL}/login/  "
            f"user 'admin', password '{password}'\n"
        )

    def _demo_tenant(self) -> Tenant:
        lever_port, backcheck_port = demo_ports()
        tenant, _ = Tenant.objects.update_or_create(
            slug=DEMO_SLUG,
            defaults={
                "name": "Demo Employer",
                "lever_base_url": f"http://127.0.0.1:{lever_port}/v1",
                "backcheck_base_url": f"http://127.0.0.1:{backcheck_port}",
                "trigger_stage_ids": [DEMO_SEED["background_check_stage_id"]],
                "note_author_user_id": DEMO_SEED["note_author_user_id"],
                "piecemeal": True,
            },
        )
        tenant.lever_api_key = os.environ["DEMO_LEVER_API_KEY"]
        tenant.lever_signature_token = os.environ["DEMO_SIGNATURE_TOKEN"]
        tenant.backcheck_client_id = DEMO_BACKCHECK_CLIENT_ID
        tenant.backcheck_client_secret = DEMO_BACKCHECK_CLIENT_SECRET
        tenant.save()
        Package.objects.update_or_create(
            tenant=tenant,
            code="std-ca",
            defaults={"name": "Standard Canada", "lever_tag": "standard-ca", "is_default": True},
        )
        Package.objects.update_or_create(
            tenant=tenant,
            code="exec-ca",
            defaults={"name": "Executive Canada", "lever_tag": "executive-ca", "is_default": False},
        )
        return tenant
