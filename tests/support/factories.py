"""factory_boy factories, one per model: what a test or a bench needs, with the rest filled in.

Tenants carry all four secrets, encrypted by the model's fields on save (connectors/fields.py)
and bound to the row's `webhook_id`, exactly as the set-up pages store them; their URLs point at
127.0.0.1:9, where nothing listens, unless a test wires them to the fakes (tests/support/wired.py).

    tenant = TenantFactory(slug="acme", managers=[alice])     # + a default "std-ca" package
    tenant = TenantFactory(packages=[{"code": "exec", "lever_tag": "exec"}])
    order = OrderFactory(tenant=tenant, status="Completed", score="Green")
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from connectors.backcheck.credentials import hash_callback_password
from connectors.demo_data import BG_CHECK_STAGE_ID
from connectors.models import IntakeLink, Package, Tenant, TenantAuditEntry
from connectors.tenants.intake_links import intake_token_digest
from integration_portal.api_tokens.models import (
    PREFIX_LENGTH,
    ApiToken,
    new_token,
    token_digest,
)
from orders.models import (
    CancelRequest,
    InboundEvent,
    LeverNote,
    NoteAttempt,
    Order,
    OrderAction,
    ScreeningService,
    StatusEvent,
    UserProfile,
)
from tests.support.canaries import (
    CANARY_API_KEY,
    CANARY_CLIENT_ID,
    CANARY_CLIENT_SECRET,
    CANARY_TOKEN,
)

# A port nothing listens on: a call is refused before anything is sent.
DEAD_URL = "http://127.0.0.1:9"
PASSWORD = "pw-factory-user-1"


# --- people --------------------------------------------------------------------------------------


class UserFactory(DjangoModelFactory):
    """An active user without roles: with tenants assigned, an account manager."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()

    @factory.post_generation
    def managed_tenants(obj, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        """`managed_tenants=[tenant, ...]`: the tenants this user manages."""
        if create and extracted:
            obj.managed_tenants.add(*extracted)


class AccountManagerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"am-{n}")


class SuperAdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin-{n}")
    is_staff = True
    is_superuser = True


class UserProfileFactory(DjangoModelFactory):
    class Meta:
        model = UserProfile

    user = factory.SubFactory(AccountManagerFactory)


class ApiTokenFactory(DjangoModelFactory):
    """A usable token; the clear value is on `row.clear_token` (only its digest is stored)."""

    class Meta:
        model = ApiToken

    clear_token = factory.LazyFunction(new_token)
    user = factory.SubFactory(SuperAdminFactory)
    name = "factory token"
    prefix = factory.LazyAttribute(lambda o: o.clear_token[:PREFIX_LENGTH])
    key_hash = factory.LazyAttribute(lambda o: token_digest(o.clear_token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))

    @classmethod
    def _create(cls, model_class: type[ApiToken], *args: Any, **kwargs: Any) -> ApiToken:
        clear = kwargs.pop("clear_token")  # not a column: handed back on the row
        row = super()._create(model_class, *args, **kwargs)
        row.clear_token = clear
        return row


# --- tenants -------------------------------------------------------------------------------------


class TenantFactory(DjangoModelFactory):
    """A configured tenant: all four secrets, one trigger stage, a default "std-ca" package.

    `packages=[{...}, ...]` replaces the default package (each dict is PackageFactory's fields;
    `[]` for none); `managers=[user, ...]` assigns account managers. Traits: `canaries=True`
    stores the canary credentials (tests/support/canaries.py), `no_secrets=True` none at all.
    """

    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    class Params:
        canaries = factory.Trait(
            lever_api_key=CANARY_API_KEY,
            lever_signature_token=CANARY_TOKEN,
            backcheck_client_id=CANARY_CLIENT_ID,
            backcheck_client_secret=CANARY_CLIENT_SECRET,
        )
        no_secrets = factory.Trait(
            lever_api_key=None,
            lever_signature_token=None,
            backcheck_client_id=None,
            backcheck_client_secret=None,
        )

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    lever_base_url = f"{DEAD_URL}/v1"
    backcheck_base_url = DEAD_URL
    trigger_stage_ids = factory.LazyFunction(lambda: [BG_CHECK_STAGE_ID])
    lever_api_key = factory.LazyAttribute(lambda o: f"lever-key-{o.slug}-0123456789")
    lever_signature_token = factory.LazyAttribute(lambda o: f"sig-{o.slug}-0123456789abcdef")
    backcheck_client_id = factory.LazyAttribute(lambda o: f"bc-id-{o.slug}")
    backcheck_client_secret = factory.LazyAttribute(lambda o: f"bc-secret-{o.slug}-0123456789")

    @factory.post_generation
    def packages(obj, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if not create:
            return
        specs = (
            extracted
            if extracted is not None
            else [{"code": "std-ca", "name": "Standard Canada", "is_default": True}]
        )
        for spec in specs:
            PackageFactory(tenant=obj, **spec)

    @factory.post_generation
    def managers(obj, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create and extracted:
            obj.account_managers.add(*extracted)


class PackageFactory(DjangoModelFactory):
    class Meta:
        model = Package

    tenant = factory.SubFactory(TenantFactory, packages=[])
    code = factory.Sequence(lambda n: f"pkg-{n}")
    name = factory.LazyAttribute(lambda o: f"Package {o.code}")
    lever_tag = ""
    is_default = False


class TenantAuditEntryFactory(DjangoModelFactory):
    class Meta:
        model = TenantAuditEntry

    tenant = factory.SubFactory(TenantFactory)
    actor = None
    actor_label = "cli"
    action = "setting_changed"
    field = "name"


class IntakeLinkFactory(DjangoModelFactory):
    """An open link; the token to use it is on `link.token` (only its HMAC is stored)."""

    class Meta:
        model = IntakeLink

    token = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    tenant = factory.SubFactory(TenantFactory)
    token_hmac = factory.LazyAttribute(lambda o: intake_token_digest(o.token))
    created_by = None
    created_by_label = "cli"
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(hours=72))

    @classmethod
    def _create(cls, model_class: type[IntakeLink], *args: Any, **kwargs: Any) -> IntakeLink:
        token = kwargs.pop("token")  # not a column: handed back on the row
        link = super()._create(model_class, *args, **kwargs)
        link.token = token
        return link


# --- orders and their history ------------------------------------------------------------------


class InboundEventFactory(DjangoModelFactory):
    """A verified Lever stage change, received and not yet processed."""

    class Meta:
        model = InboundEvent

    source = InboundEvent.Source.LEVER
    tenant = factory.SubFactory(TenantFactory)
    event_type = "candidateStageChange"
    lever_token = factory.Sequence(lambda n: f"tok-{n}")
    opportunity_id = factory.Sequence(lambda n: f"opp-event-{n}")
    to_stage_id = BG_CHECK_STAGE_ID
    signature_verified = True
    raw_body = '{"event": "candidateStageChange"}'


class OrderFactory(DjangoModelFactory):
    """A submitted order, In Progress at Backcheck, with hashed callback credentials."""

    class Meta:
        model = Order

    tenant = factory.SubFactory(TenantFactory)
    opportunity_id = factory.Sequence(lambda n: f"opp-{n:05d}")
    candidate_name = "Ada Lovelace"
    candidate_email = factory.Sequence(lambda n: f"ada{n}@example.com")
    package_code = "std-ca"
    package_name = "Standard"
    callback_username = factory.Sequence(lambda n: f"cb-{n}-{secrets.token_hex(4)}")
    callback_password_hash = factory.LazyFunction(
        lambda: hash_callback_password("cb-" + secrets.token_hex(8))
    )
    submit_state = Order.SubmitState.SUBMITTED
    screening_id = factory.Sequence(lambda n: f"scr_{n:08d}")
    order_number = factory.Sequence(lambda n: f"BC-2026-{n:06d}")
    status = "In Progress"
    is_active = factory.LazyAttribute(lambda o: o.status in ("Initiated", "In Progress", ""))


class ScreeningServiceFactory(DjangoModelFactory):
    class Meta:
        model = ScreeningService

    order = factory.SubFactory(OrderFactory)
    position = factory.Sequence(lambda n: n)
    service_id = factory.Sequence(lambda n: f"svc-{n}")
    name = "Criminal Record Check"
    status = "Not Started"


class StatusEventFactory(DjangoModelFactory):
    class Meta:
        model = StatusEvent

    order = factory.SubFactory(OrderFactory)
    source = StatusEvent.Source.CALLBACK
    outcome = StatusEvent.Outcome.APPLIED
    from_status = "Initiated"
    to_status = "In Progress"
    arrived_status = "In Progress"


class LeverNoteFactory(DjangoModelFactory):
    class Meta:
        model = LeverNote

    order = factory.SubFactory(OrderFactory)
    tenant = factory.LazyAttribute(lambda o: o.order.tenant)
    opportunity_id = factory.LazyAttribute(lambda o: o.order.opportunity_id)
    kind = LeverNote.Kind.ORDER
    text = "Sterling Backcheck background check\nStatus: In Progress"
    state = LeverNote.State.PENDING


class NoteAttemptFactory(DjangoModelFactory):
    class Meta:
        model = NoteAttempt

    note = factory.SubFactory(LeverNoteFactory)
    started_at = factory.LazyFunction(timezone.now)
    duration_ms = 42
    outcome = NoteAttempt.Outcome.DELIVERED
    http_status = 201


class CancelRequestFactory(DjangoModelFactory):
    class Meta:
        model = CancelRequest

    order = factory.SubFactory(OrderFactory)
    requested_by = "root-admin"


class OrderActionFactory(DjangoModelFactory):
    class Meta:
        model = OrderAction

    order = factory.SubFactory(OrderFactory)
    actor = "root-admin"
    action = "resync"
