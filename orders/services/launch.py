"""Manual launch: an account manager orders a check for a Lever candidate by hand.

The second way to order that peer integrations offer. It uses the same pieces as the webhook
path — re-read the opportunity, the active-order guard, the candidate mapping, `order_open` —
but the package is chosen by the person, and problems are answered on the page rather than as
a note on the candidate (the person is right there to fix them).
"""

from __future__ import annotations

import re

from connectors.backcheck.mapping import MissingEmail, candidate_from_opportunity
from connectors.http import HttpError
from connectors.lever.client import LeverClient
from connectors.models import Package, Tenant
from orders.models import Order
from orders.services.order_opening import order_open
from orders.services.order_records import ActiveOrderExists, active_order_for

# Lever candidate URLs look like https://hire.lever.co/candidates/<opportunity id>[/...]
_URL_ID = re.compile(r"/candidates/([A-Za-z0-9-]{6,100})")
_BARE_ID = re.compile(r"^[A-Za-z0-9-]{6,100}$")


class LaunchError(Exception):
    """A sentence for the person who launched, naming what to fix."""


def parse_opportunity_reference(value: str) -> str:
    value = (value or "").strip()
    match = _URL_ID.search(value)
    if match:
        return match.group(1)
    if _BARE_ID.match(value):
        return value
    raise LaunchError("Paste a Lever candidate URL (…/candidates/<id>) or an opportunity id.")


def order_launch_manual(*, tenant: Tenant, reference: str, package: Package, actor: str) -> Order:
    if package.tenant_id != tenant.pk:
        raise LaunchError("That package belongs to another tenant.")
    if not tenant.is_active:
        raise LaunchError("The tenant is inactive.")
    opportunity_id = parse_opportunity_reference(reference)
    existing = active_order_for(tenant=tenant, opportunity_id=opportunity_id)
    if existing is not None:
        raise LaunchError(f"Order {existing.pk} is already active for this candidate.")
    try:
        with LeverClient.for_tenant(tenant) as lever:
            opportunity = lever.get_opportunity(opportunity_id)
    except HttpError as exc:
        if exc.status == 404:
            raise LaunchError("Lever has no opportunity with that id for this tenant.") from None
        raise LaunchError(f"Lever could not be read: {exc.message}") from None
    if opportunity.archived:
        raise LaunchError("The opportunity is archived in Lever.")
    try:
        candidate = candidate_from_opportunity(opportunity)
    except MissingEmail:
        raise LaunchError("The candidate has no email address in Lever. Add one first.") from None
    try:
        return order_open(
            tenant=tenant,
            opportunity_id=opportunity_id,
            candidate=candidate,
            candidate_name=opportunity.name,
            lever_url=opportunity.show_url or "",
            package=package,
            trigger_event=None,
            trigger_stage_id="",
            launched_by=actor,
        )
    except ActiveOrderExists as exc:
        raise LaunchError(f"Order {exc.order.pk} is already active for this candidate.") from None
