"""Logging helpers referenced from settings.LOGGING: redaction, context, JSON lines.

- `RedactSecretsFilter` (integration_portal/redaction.py) masks every registered secret.
- `RequestIdMiddleware` takes `X-Request-ID` from the request (or makes one), answers with it,
  and puts it in a context variable; `log_context(tenant_id=…, order_id=…)` adds the ids a view
  or task knows; Celery's task_prerun/task_postrun set and clear the task id, and a published
  task carries the request id of the request that published it.
- `ContextFilter` copies those onto every record; `JsonFormatter` writes one JSON object a line
  (LOG_FORMAT=json, the production default), with every string redacted once more, so a secret
  passed in `extra=` or an exception is masked too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from celery import signals
from django.http import HttpRequest, HttpResponse

from integration_portal.redaction import RedactSecretsFilter, redact

__all__ = [
    "ContextFilter",
    "JsonFormatter",
    "RedactSecretsFilter",
    "RequestIdMiddleware",
    "bind",
    "current_context",
    "log_context",
]

CONTEXT_FIELDS = ("request_id", "task_id", "tenant_id", "order_id")
_vars: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"portal_log_{name}", default=None) for name in CONTEXT_FIELDS
}
# A caller's id is echoed back and logged: keep it short and free of anything a log reader or
# terminal would interpret.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_ID_HEADER = "X-Request-ID"
_TASK_HEADER = "portal_request_id"


def current_context() -> dict[str, str]:
    """The ids known in this context (request, task, tenant, order)."""
    values = {name: var.get() for name, var in _vars.items()}
    return {name: value for name, value in values.items() if value is not None}


def bind(**ids: Any) -> dict[str, contextvars.Token]:
    """Set context ids (None clears one); returns tokens for `unbind`."""
    tokens = {}
    for name, value in ids.items():
        if name not in _vars:
            raise ValueError(f"unknown log context field {name!r}")
        tokens[name] = _vars[name].set(None if value is None else str(value))
    return tokens


def unbind(tokens: dict[str, contextvars.Token]) -> None:
    for name, token in tokens.items():
        _vars[name].reset(token)


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """`with log_context(tenant_id=t.pk, order_id=o.pk): …` — the ids appear on every record."""
    tokens = bind(**ids)
    try:
        yield
    finally:
        unbind(tokens)


class ContextFilter(logging.Filter):
    """Put the context ids on the record (attributes, for any formatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _vars.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        if record.request_id is None:  # type: ignore[attr-defined]
            # Django logs a 4xx/5xx answer (django.request) after the middleware has returned,
            # with the request attached: take the id from there.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None)
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    *CONTEXT_FIELDS,
}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        exception = record.exc_text
        if not getattr(record, "_secrets_redacted", False):
            # RedactSecretsFilter has cleaned these already when it is on the handler.
            message = redact(message)
            exception = exception and redact(exception)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        # Searched here: the request id (the caller may choose it) and the extras. The time,
        # level, logger name, task id (Celery's uuid) and tenant and order ids (primary keys)
        # are the portal's own.
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = _vars[name].get()
            if value is not None:
                entry[name] = _clean(value) if name == "request_id" else value
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        }
        entry.update(_clean(extras))
        if exception:
            entry["exception"] = exception
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """X-Request-ID in and out; the id (and nothing else) is bound for the request's logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        tokens = bind(request_id=request_id, tenant_id=None, order_id=None, task_id=None)
        try:
            response = self.get_response(request)
        finally:
            unbind(tokens)
        response[REQUEST_ID_HEADER] = request_id
        return response


# --- Celery: task ids, and the request id carried from the request that queued the task -------
_task_tokens: dict[str, dict[str, contextvars.Token]] = {}


@signals.before_task_publish.connect(weak=False)
def _carry_request_id(headers: dict | None = None, **_: Any) -> None:
    request_id = _vars["request_id"].get()
    if headers is not None and request_id:
        headers.setdefault(_TASK_HEADER, request_id)


@signals.task_prerun.connect(weak=False)
def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    carried = getattr(request, _TASK_HEADER, None) if request is not None else None
    if carried is not None and not (isinstance(carried, str) and _REQUEST_ID.match(carried)):
        carried = None
    tokens = bind(task_id=task_id, request_id=carried, tenant_id=None, order_id=None)
    if task_id:
        _task_tokens[task_id] = tokens


@signals.task_postrun.connect(weak=False)
def _task_finished(task_id: str | None = None, **_: Any) -> None:
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens is not None:
        try:
            unbind(tokens)
        except ValueError:  # set in another context (a thread pool): just clear the ids
            bind(**dict.fromkeys(CONTEXT_FIELDS))


@signals.setup_logging.connect(weak=False)
def _worker_logging(**_: Any) -> None:
    """Celery workers log through settings.LOGGING (JSON, redaction, task ids) like web does.

    Connecting this signal stops Celery from replacing the root logger's handlers with its own.
    """
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
