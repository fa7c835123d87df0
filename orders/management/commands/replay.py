"""`manage.py replay {inbound|note} ID` and `manage.py replay --failed --tenant SLUG`.

Re-runs a failed Lever event, or sends a failed Lever note again (docs/CONTRACT.md §8). `--failed`
replays every failed note, failed Lever event, failed order submission and failed cancellation
of one tenant, oldest first, so notes keep their per-order order.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.models import Tenant
from orders.models import CancelRequest, InboundEvent, LeverNote, Order
from orders.services.notes import note_replay
from orders.services.order_cancellation import cancel_replay
from orders.services.order_submission import order_submit_replay
from orders.services.stage_change import inbound_replay


class Command(BaseCommand):
    help = "Replay a failed inbound event or Lever note, or every failure of a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", nargs="?", choices=["inbound", "note"])
        parser.add_argument("id", nargs="?", type=int)
        parser.add_argument("--failed", action="store_true", help="replay every failure")
        parser.add_argument("--tenant", help="tenant slug (with --failed)")

    def handle(self, *args, **options) -> None:
        if options["failed"]:
            if options["kind"] or options["id"]:
                raise CommandError(
                    "Use either 'replay KIND ID' or 'replay --failed --tenant SLUG'."
                )
            self._replay_failed(options["tenant"])
            return
        if not options["kind"] or options["id"] is None:
            raise CommandError("Usage: replay {inbound|note} ID, or replay --failed --tenant SLUG.")
        if options["kind"] == "note":
            note = LeverNote.objects.filter(pk=options["id"]).first()
            if note is None:
                raise CommandError(f"No Lever note with id {options['id']}.")
            try:
                note_replay(note=note, actor="cli")
            except ValueError as exc:
                raise CommandError(f"Note {note.pk} is {note.state}: {exc}") from None
            self.stdout.write(f"note {note.pk} queued for delivery")
        else:
            event = InboundEvent.objects.filter(pk=options["id"]).first()
            if event is None:
                raise CommandError(f"No inbound event with id {options['id']}.")
            try:
                inbound_replay(event=event)
            except ValueError as exc:
                raise CommandError(f"Event {event.pk} is {event.state}: {exc}") from None
            self.stdout.write(f"inbound event {event.pk} queued for processing")

    def _replay_failed(self, slug: str | None) -> None:
        if not slug:
            raise CommandError("--failed needs --tenant SLUG.")
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {slug!r}.")
        events = InboundEvent.objects.filter(
            tenant=tenant, source=InboundEvent.Source.LEVER, state=InboundEvent.State.FAILED
        ).order_by("received_at", "id")
        for event in events:
            inbound_replay(event=event)
        notes = LeverNote.objects.filter(tenant=tenant, state=LeverNote.State.FAILED).order_by(
            "created_at", "id"
        )
        count = 0
        for note in notes:
            note_replay(note=note, actor="cli")
            count += 1
        submits = Order.objects.filter(
            tenant=tenant, submit_state=Order.SubmitState.FAILED, state__isnull=True
        ).order_by("created_at", "id")
        sent = 0
        for order in submits:
            try:
                order_submit_replay(order=order, actor="cli")
                sent += 1
            except ValueError as exc:
                self.stderr.write(f"order {order.pk}: {exc}")
        cancels = CancelRequest.objects.filter(
            order__tenant=tenant, state=CancelRequest.State.FAILED
        ).select_related("order")
        cancelled = 0
        for request in cancels:
            try:
                cancel_replay(request=request, actor="cli")
                cancelled += 1
            except ValueError as exc:
                self.stderr.write(f"cancellation {request.pk}: {exc}")
        self.stdout.write(
            f"{len(events)} inbound event(s), {count} note(s), {sent} order submission(s) and "
            f"{cancelled} cancellation(s) queued for {slug}"
        )
