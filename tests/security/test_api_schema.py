"""Schemathesis against the portal's own OpenAPI document (`/api/schema/`), in-process over WSGI:
no operation answers 5xx to generated input (valid and invalid), documented responses conform to
the schema, and an invalid query parameter gets a 4xx in the one error shape naming the field."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from integration_portal.api_tokens.models import ApiToken
from integration_portal.wsgi import application


@pytest.fixture
def api_schema(db):
    # As Django's test client does: requests must not close the test's database connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_token(db, super_admin) -> str:
    from tests.support.security import build_side

    # One real order to find, so some generated ids hit data, not only 404s.
    build_side("schema-tenant", super_admin, {"lever_api_key": "schema-lever-key-0123456789abc"})
    return ApiToken.issue(user=super_admin)[1]


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_fails_or_breaks_its_schema_on_generated_input(api_schema, api_token, mode):
    # Hypothesis drives each operation directly: schemathesis's pytest plugin does not run under
    # this pytest version, its strategies and checks do.
    headers = {"Authorization": f"Token {api_token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "GET /api/v1/orders/",
        "POST /api/v1/callbacks/backcheck/",
    }
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        run()


INVALID = {"integer": "not-a-number", "string:date": "2026-13-45", "boolean": "maybe"}


@pytest.mark.django_db
def test_every_invalid_query_parameter_gets_a_400_naming_it(api_token, client):
    document = client.get("/api/schema/?format=json").json()
    parameters = document["paths"]["/api/v1/orders/"]["get"]["parameters"]
    checked = []
    for parameter in parameters:
        kind = parameter["schema"].get("type")
        if "enum" in parameter["schema"]:
            bad = "NotAValue"
        else:
            bad = INVALID.get(f"{kind}:{parameter['schema'].get('format')}") or INVALID.get(kind)
        if bad is None:
            continue
        response = client.get(
            "/api/v1/orders/", {parameter["name"]: bad}, HTTP_AUTHORIZATION=f"Token {api_token}"
        )
        body = response.json()
        if parameter["name"] == "page" and response.status_code == 404:
            continue  # DRF's paginator answers an unusable page number 404 "Invalid page."
        assert response.status_code == 400, (parameter["name"], body)
        assert body["error"] == "invalid" and parameter["name"] in body["fields"], body
        checked.append(parameter["name"])
    assert {"status", "score", "active", "created_from", "created_to"} <= set(checked)
