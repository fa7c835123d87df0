"""The two inbound endpoints: Lever webhooks and Backcheck callbacks (docs/CONTRACT.md §5, §6).

Verify, validate, store, enqueue, answer — in the order docs/CONTRACT.md §5 fixes, first failure wins.
Nothing is written for a 4xx. A database error anywhere is a 503 (so the sender retries), via
the project's exception handler.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.backcheck.credentials import parse_basic_auth, verify_callback_credentials
from connectors.backcheck.schema import SchemaError, parse_callback
from connectors.lever.signature import is_fresh, signature_matches
from connectors.tenants.webhook_tenants import WebhookTenant, webhook_tenant_get
from integration_portal.api import error_response, loads_json
from orders.models import Order
from orders.services.inbound import (
    STAGE_CHANGE,
    UNSIGNED_TEST_LIMIT_PER_HOUR,
    UnsignedTestsOverLimit,
    backcheck_callback_store,
    lever_test_delivery_store,
    lever_webhook_store,
)

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024


class BodyTooLarge(Exception):
    pass


def _read_body(request: Request) -> bytes:
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise BodyTooLarge
    try:
        raw = request._request.body
    except RequestDataTooBig:
        raise BodyTooLarge from None
    if len(raw) > MAX_BODY:
        raise BodyTooLarge
    return raw


def _too_large() -> Response:
    return error_response(
        "payload_too_large", "The body is over 256 KiB.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    )


def _unknown_webhook() -> Response:
    return error_response("not_found", "No tenant has this webhook URL.", status.HTTP_404_NOT_FOUND)


def _parse_json_object(raw: bytes) -> dict | None:
    try:
        body = loads_json(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _stage_change_problems(body: dict[str, Any]) -> dict[str, list[str]]:
    """Field problems of a signed webhook, after the signature and freshness checks."""
    problems: dict[str, list[str]] = {}

    def need_str(container: dict, key: str, name: str, *, optional: bool = False) -> None:
        if key not in container or container[key] is None:
            if not optional:
                problems[name] = ["This field is required."]
            return
        if not isinstance(container[key], str) or not container[key].strip():
            problems[name] = ["Must be a non-empty string."]

    need_str(body, "event", "event")
    need_str(body, "id", "id", optional=True)
    data = body.get("data")
    if not isinstance(data, dict):
        problems["data"] = ["Must be an object."]
    elif body.get("event") == STAGE_CHANGE:
        need_str(data, "opportunityId", "data.opportunityId")
        need_str(data, "toStageId", "data.toStageId")
        for key in ("fromStageId", "candidateId", "contactId"):
            if data.get(key) is not None and not isinstance(data.get(key), str):
                problems[f"data.{key}"] = ["Must be a string or null."]
    return problems


def _signed_by(tenant: WebhookTenant, body: dict[str, Any]) -> bool:
    tokens = [s.reveal() for s in tenant.signature_tokens]
    return bool(tokens) and signature_matches(body, tokens)


class LeverWebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []

    @extend_schema(
        operation_id="lever_webhook",
        request={"application/json": {"type": "object"}},
        responses={
            200: OpenApiResponse(description="accepted | test | duplicate | ignored"),
            400: OpenApiResponse(description="malformed"),
            401: OpenApiResponse(description="bad signature or stale"),
            404: OpenApiResponse(description="unknown webhook id"),
            413: OpenApiResponse(description="body over 256 KiB"),
            429: OpenApiResponse(description="too many unsigned test deliveries"),
            503: OpenApiResponse(description="database unavailable"),
        },
        auth=[],
    )
    def post(self, request: Request, webhook_id: str) -> Response:
        try:
            raw = _read_body(request)
        except BodyTooLarge:
            return _too_large()
        tenant = webhook_tenant_get(webhook_id=webhook_id)
        if tenant is None:
            return _unknown_webhook()
        body = _parse_json_object(raw)
        if body is None:
            return error_response(
                "invalid_json", "The body must be a JSON object.", status.HTTP_400_BAD_REQUEST
            )
        verified = _signed_by(tenant, body)
        if not verified:
            # This process's snapshot may predate a token set a moment ago: ask the stored row.
            tenant = webhook_tenant_get(webhook_id=webhook_id, fresh=True)
            if tenant is None:
                return _unknown_webhook()
            verified = _signed_by(tenant, body)
        if body.get("data") == {}:
            # Verify Connection: answered even before we know the token (docs/LEVER.md).
            try:
                result = lever_test_delivery_store(
                    tenant=tenant, body=body, raw=raw.decode(), verified=verified
                )
            except UnsignedTestsOverLimit:
                response = error_response(
                    "rate_limited",
                    f"Over {UNSIGNED_TEST_LIMIT_PER_HOUR} unsigned test deliveries in an hour "
                    "for this webhook; nothing was stored. Try again later.",
                    status.HTTP_429_TOO_MANY_REQUESTS,
                )
                response["Retry-After"] = "600"
                return response
            return Response({"status": result.status})
        if not verified:
            return error_response(
                "invalid_signature",
                "The signature does not match this tenant's signature token.",
                status.HTTP_401_UNAUTHORIZED,
            )
        if body.get("event") == STAGE_CHANGE and not is_fresh(body["triggeredAt"]):
            return error_response(
                "stale_event",
                "triggeredAt is outside the accepted window.",
                status.HTTP_401_UNAUTHORIZED,
            )
        problems = _stage_change_problems(body)
        if problems:
            return error_response(
                "invalid",
                "Invalid webhook: " + ", ".join(sorted(problems)) + ".",
                status.HTTP_400_BAD_REQUEST,
                problems,
            )
        result = lever_webhook_store(tenant=tenant, body=body, raw=raw.decode())
        payload = {"status": result.status}
        if result.reason:
            payload["reason"] = result.reason
        return Response(payload)


class BackcheckCallbackView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []

    @extend_schema(
        operation_id="backcheck_callback",
        request={"application/json": {"type": "object"}},
        responses={
            200: OpenApiResponse(description="applied | stale | duplicate | rejected"),
            400: OpenApiResponse(description="malformed or unknown value"),
            401: OpenApiResponse(description="missing or wrong credentials"),
            404: OpenApiResponse(description="unknown clientReferenceId"),
            413: OpenApiResponse(description="body over 256 KiB"),
            503: OpenApiResponse(description="database unavailable"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        credentials = parse_basic_auth(request.headers.get("authorization", ""))
        if credentials is None:
            return self._unauthorized("Basic credentials are required.")
        try:
            raw = _read_body(request)
        except BodyTooLarge:
            return _too_large()
        try:
            body = loads_json(raw)
            screening = parse_callback(body, strict_values=False)
        except (UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                return error_response(
                    "invalid",
                    f"Invalid callback: {exc.field}.",
                    status.HTTP_400_BAD_REQUEST,
                    {exc.field: [exc.problem]},
                )
            return error_response(
                "invalid_json", "The body must be a JSON object.", status.HTTP_400_BAD_REQUEST
            )
        order = _order_for_reference(screening.client_reference_id)
        if order is None:
            return error_response(
                "not_found", "No order has this clientReferenceId.", status.HTTP_404_NOT_FOUND
            )
        username, password = credentials
        if not verify_callback_credentials(
            username=username,
            password=password,
            stored_username=order.callback_username,
            stored_hash=order.callback_password_hash,
        ):
            return self._unauthorized("The credentials are not those of this order.")
        try:
            screening = parse_callback(body)
        except SchemaError as exc:
            return error_response(
                "invalid",
                f"Invalid callback: {exc.field}.",
                status.HTTP_400_BAD_REQUEST,
                {exc.field: [exc.problem]},
            )
        if order.screening_id and screening.id != order.screening_id:
            return error_response(
                "invalid",
                "payload.id is not this order's screening.",
                status.HTTP_400_BAD_REQUEST,
                {"payload.id": ["Does not match the order's screening."]},
            )
        outcome = backcheck_callback_store(order=order, screening=screening, raw=raw.decode())
        return Response({"status": outcome})

    @staticmethod
    def _unauthorized(detail: str) -> Response:
        response = error_response("unauthorized", detail, status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = 'Basic realm="backcheck-callbacks"'
        return response


def _order_for_reference(reference: str) -> Order | None:
    import uuid

    try:
        value = uuid.UUID(reference)
    except (ValueError, AttributeError, TypeError):
        return None
    return Order.objects.select_related("tenant").filter(reference=value).first()
