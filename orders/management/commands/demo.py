"""`manage.py demo`: drive one demo candidate through the whole flow on the fakes.

It asks the fake Lever (started by `make run`) to move a demo candidate into the demo tenant's
background-check stage; fake Lever sends the signed webhook to the portal, the worker orders
the check from the fake Backcheck, whose standard script then calls back until the order is
Completed. The command follows the case and prints each status and each note as it lands.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.demo_data import DEMO_SEED
from connectors.http import HttpClient, HttpError
from connectors.management.commands.demo_setup import DEMO_SLUG, demo_ports
from connectors.models import Tenant
from orders.models import LeverNote, Order


class Command(BaseCommand):
    help = "Move a demo candidate to the trigger stage on the fake Lever and follow the case."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--candidate", default="ada", choices=sorted(DEMO_SEED["candidates"]))
        parser.add_argument("--timeout", type=float, default=90.0)

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None or tenant.lever_api_key is None:
            raise CommandError("No demo tenant: run `make run` (it runs demo_setup) first.")
        candidate = DEMO_SEED["candidates"][options["candidate"]]
        opportunity_id = candidate["opportunity_id"]
        lever_port, _ = demo_ports()
        started = time.monotonic()
        seen_notes = LeverNote.objects.filter(tenant=tenant, opportunity_id=opportunity_id).count()
        try:
            with HttpClient(f"http://127.0.0.1:{lever_port}") as fake_lever:
                fake_lever.request(
                    "POST",
                    "/_control/move",
                    json_body={
                        "api_key": tenant.lever_api_key.reveal(),
                        "opportunity_id": opportunity_id,
                        "stage_id": DEMO_SEED["background_check_stage_id"],
                        "webhook_url": tenant.webhook_url,
                        "async": True,
                    },
                )
        except HttpError as exc:
            raise CommandError(
                f"The fake Lever did not take the move ({exc}); is `make run` running?"
            ) from None
        self.stdout.write(f'Moved {candidate["name"]} to "Background Check" in the fake Lever.')
        self.stdout.write(f"  Portal:        {settings.PUBLIC_BASE_URL}/")
        self.stdout.write(
            f"  Lever's view:  http://127.0.0.1:{lever_port}/candidates/{opportunity_id}"
        )
        self._follow(tenant, opportunity_id, seen_notes, started, options["timeout"])

    def _follow(self, tenant, opportunity_id, seen_notes, started, timeout) -> None:
        last_status = None
        posted = 0
        while time.monotonic() - started < timeout:
            notes = list(
                LeverNote.objects.filter(
                    tenant=tenant, opportunity_id=opportunity_id, state=LeverNote.State.DELIVERED
                ).order_by("delivered_at", "id")[seen_notes:]
            )
            for note in notes:
                seen_notes += 1
                posted += 1
                self.stdout.write(f"\n  note posted to Lever ({time.monotonic() - started:.1f}s):")
                for line in note.text.splitlines():
                    self.stdout.write(f"    | {line}")
            order = Order.objects.filter(
                tenant=tenant, opportunity_id=opportunity_id, created_at__gte=_since(started)
            ).first()
            if order and order.status != last_status and order.status:
                last_status = order.status
                self.stdout.write(f"\n  order {order.pk}: {order.status}")
            if (
                order
                and not order.is_active
                and order.status
                and not LeverNote.objects.filter(order=order)
                .exclude(state=LeverNote.State.DELIVERED)
                .exists()
            ):
                self.stdout.write(
                    f"\nDone in {time.monotonic() - started:.1f}s: order "
                    f"{order.pk} is {order.status} (score {order.score or '—'})."
                )
                return
            if (
                order is None
                and posted
                and LeverNote.objects.filter(
                    tenant=tenant, opportunity_id=opportunity_id, kind=LeverNote.Kind.ERROR
                ).exists()
            ):
                self.stdout.write("\nDone: the candidate could not be ordered (see the note).")
                return
            time.sleep(0.5)
        raise CommandError(
            f"The case did not finish within {timeout:.0f}s; open the portal to "
            "see where it stands."
        )


def _since(started_monotonic: float):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(seconds=time.monotonic() - started_monotonic + 5)
