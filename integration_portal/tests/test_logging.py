"""Structured logs: JSON lines, request/task/tenant/order ids, secrets masked in every format."""

from __future__ import annotations

import io
import json
import logging
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client

from integration_portal import logging as portal_logging
from integration_portal.logging import (
    ContextFilter,
    JsonFormatter,
    RedactSecretsFilter,
    current_context,
    log_context,
)
from integration_portal.redaction import register_secret

SECRET = "lever-api-key-canary-7f3e9d2c1b0a"


def make_logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger(f"test.portal.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_production_logs_are_json_through_the_context_and_redaction_filters():
    assert settings.LOG_FORMAT == "json"  # DJANGO_DEBUG is off in the test settings
    handler = settings.LOGGING["handlers"]["console"]
    assert handler["formatter"] == "json"
    assert handler["filters"] == ["context", "redact"]


def test_a_registered_secret_is_masked_in_json_message_extra_and_exception():
    register_secret(SECRET)
    logger, stream = make_logger(JsonFormatter())
    try:
        raise RuntimeError(f"Lever refused key {SECRET}")
    except RuntimeError:
        logger.exception("calling Lever with %s failed", SECRET, extra={"api_key": SECRET})
    line = stream.getvalue().strip()
    assert SECRET not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["message"] == f"calling Lever with ••••{SECRET[-4:]} failed"
    assert entry["api_key"] == "••••" + SECRET[-4:]
    assert "RuntimeError: Lever refused key ••••" + SECRET[-4:] in entry["exception"]


def test_a_registered_secret_is_masked_in_plain_output_too():
    register_secret(SECRET)
    fmt = logging.Formatter("%(levelname)s [%(request_id)s] %(message)s")
    logger, stream = make_logger(fmt)
    logger.warning("key is %s", SECRET)
    assert stream.getvalue().strip() == f"WARNING [None] key is ••••{SECRET[-4:]}"


def test_basic_authorization_headers_are_masked_in_json():
    logger, stream = make_logger(JsonFormatter())
    logger.info("sent headers %s", {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="})
    assert "dXNlcjpwYXNzd29yZA" not in stream.getvalue()


def test_tenant_and_order_ids_bound_by_a_view_or_task_appear_on_each_record():
    logger, stream = make_logger(JsonFormatter())
    with log_context(tenant_id=3, order_id=41):
        logger.info("applied")
    logger.info("after")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["tenant_id"], first["order_id"]) == ("3", "41")
    assert "tenant_id" not in second and "order_id" not in second


@pytest.mark.django_db
def test_a_request_id_given_by_the_caller_is_answered_back():
    response = Client(headers={"host": "127.0.0.1"}).get(
        "/healthz", HTTP_X_REQUEST_ID="lb-1234.abc"
    )
    assert response["X-Request-ID"] == "lb-1234.abc"


@pytest.mark.django_db
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one():
    client = Client(headers={"host": "127.0.0.1"})
    generated = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    unsafe = client.get("/healthz", HTTP_X_REQUEST_ID="x\nforged log line")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe) and unsafe != generated


@pytest.mark.django_db
def test_records_logged_during_a_request_carry_its_request_id():
    logger, stream = make_logger(JsonFormatter())
    django_request = logging.getLogger("django.request")
    handler = logger.handlers[0]
    django_request.addHandler(handler)
    try:
        response = Client(headers={"host": "127.0.0.1"}).get(
            "/no-such-page/", HTTP_X_REQUEST_ID="req-42"
        )
    finally:
        django_request.removeHandler(handler)
    assert response.status_code == 404
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(
        e["message"].startswith("Not Found") and e["request_id"] == "req-42" for e in entries
    )
    assert current_context() == {}


def test_celery_tasks_log_their_task_id_and_the_request_id_that_queued_them():
    headers: dict = {}
    with log_context(request_id="req-7"):
        portal_logging._carry_request_id(headers=headers)
    assert headers == {"portal_request_id": "req-7"}

    task = SimpleNamespace(request=SimpleNamespace(portal_request_id="req-7"))
    portal_logging._task_started(task_id="task-abc", task=task)
    try:
        assert current_context() == {"request_id": "req-7", "task_id": "task-abc"}
        logger, stream = make_logger(JsonFormatter())
        logger.info("delivering")
        entry = json.loads(stream.getvalue())
        assert (entry["task_id"], entry["request_id"]) == ("task-abc", "req-7")
    finally:
        portal_logging._task_finished(task_id="task-abc")
    assert current_context() == {}


def test_a_task_without_a_carried_request_id_logs_only_its_task_id():
    portal_logging._task_started(task_id="task-1", task=SimpleNamespace(request=SimpleNamespace()))
    try:
        assert current_context() == {"task_id": "task-1"}
    finally:
        portal_logging._task_finished(task_id="task-1")
