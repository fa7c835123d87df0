"""The Backcheck screening object (docs/CONTRACT.md §6), parsed strictly.

Used for API responses and for callbacks alike. Unknown statuses and scores are rejected, never
guessed (docs/CONTRACT.md §2): the callback endpoint turns `SchemaError` into a 400 naming the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

ORDER_STATUSES = ("Initiated", "In Progress", "Canceled", "Error", "Completed")
PIECEMEAL_STATUSES = ("In Production", "Fulfilled")
SERVICE_STATUSES = ("Not Started", "Complete")
SCORES = ("Green", "Amber", "Red")
MAX_URL_LENGTH = 1000  # the report_url columns' length


class SchemaError(ValueError):
    """The payload is not a screening object; `field` names the first problem."""

    def __init__(self, field: str, problem: str, *, unknown_value: bool = False) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        # True when the shape is right but a status/score value is not in the vocabulary:
        # the callback endpoint checks credentials before answering those (docs/CONTRACT.md §5).
        self.unknown_value = unknown_value


@dataclass(frozen=True)
class ScreeningError:
    code: str
    message: str


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    status: str
    score: str | None
    completed_at: datetime | None
    report_url: str | None

    @property
    def is_complete(self) -> bool:
        return self.status == "Complete"


@dataclass(frozen=True)
class Screening:
    id: str
    order_number: str | None
    client_reference_id: str
    package_id: str | None
    status: str
    piecemeal_status: str | None
    score: str | None
    report_url: str | None
    updated_at: datetime
    completed_at: datetime | None
    error: ScreeningError | None
    services: tuple[Service, ...]
    raw: dict[str, Any]

    def canonical_hash(self) -> str:
        """Same payload → same hash, whatever the key order or whitespace."""
        blob = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


def _str(obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    if key not in obj:
        if required:
            raise SchemaError(f"{path}{key}", "This field is required.")
        return None
    value = obj[key]
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise SchemaError(
            f"{path}{key}",
            "Must be a non-empty string." if required else "Must be a string or null.",
        )
    return value


def http_url(value: Any) -> str | None:
    """`value` when it is an absolute http(s) URL with a host, else None.

    Report links come from outside and are rendered as links and posted to Lever: anything
    else (`javascript:`, `data:`, relative paths, control characters) is never used.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def _url(obj: dict[str, Any], key: str, path: str, *, drop_bad: bool) -> str | None:
    value = _str(obj, key, path, required=False)
    if not value:
        return None
    if http_url(value) is None:
        if drop_bad:
            return None
        raise SchemaError(
            f"{path}{key}",
            f"Must be an absolute http(s) URL of at most {MAX_URL_LENGTH} characters.",
        )
    return value


def _choice(
    obj: dict[str, Any],
    key: str,
    path: str,
    choices: tuple[str, ...],
    *,
    nullable: bool,
    strict: bool,
) -> str | None:
    if key not in obj:
        if nullable:
            return None
        raise SchemaError(f"{path}{key}", "This field is required.")
    value = obj[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise SchemaError(f"{path}{key}", "Must be a string" + (" or null." if nullable else "."))
    if strict and value not in choices:
        raise SchemaError(
            f"{path}{key}",
            f"Unknown value {value[:40]!r}; expected one of: {', '.join(choices)}.",
            unknown_value=True,
        )
    return value


def _datetime(obj: dict[str, Any], key: str, path: str, *, required: bool) -> datetime | None:
    value = _str(obj, key, path, required=required)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SchemaError(f"{path}{key}", "Must be an ISO 8601 timestamp.") from None
    if parsed.tzinfo is None:
        raise SchemaError(f"{path}{key}", "Must carry a time zone (e.g. 'Z').")
    return parsed


def parse_screening(
    payload: Any, *, path: str = "", strict_values: bool = True, drop_bad_urls: bool = False
) -> Screening:
    """Parse a screening object.

    With `strict_values=False` only the shape is checked (types, required fields) and status or
    score values outside the vocabulary pass through; the callback endpoint uses that to answer a
    malformed body before it looks at credentials, and an unknown value only after.

    A `reportUrl` that is not an absolute http(s) URL is refused, or with `drop_bad_urls` (a
    screening the portal polled: the rest of it is still worth having) left out.
    """
    strict = strict_values
    if not isinstance(payload, dict):
        raise SchemaError(path.rstrip(".") or "payload", "Must be a JSON object.")
    error_obj = payload.get("error")
    error: ScreeningError | None = None
    if error_obj is not None:
        if not isinstance(error_obj, dict):
            raise SchemaError(f"{path}error", "Must be an object or null.")
        error = ScreeningError(
            code=_str(error_obj, "code", f"{path}error.", required=False) or "",
            message=_str(error_obj, "message", f"{path}error.", required=False) or "",
        )
    raw_services = payload.get("services", [])
    if raw_services is None:
        raw_services = []
    if not isinstance(raw_services, list):
        raise SchemaError(f"{path}services", "Must be a list.")
    services = []
    for index, item in enumerate(raw_services):
        spath = f"{path}services[{index}]."
        if not isinstance(item, dict):
            raise SchemaError(spath.rstrip("."), "Must be an object.")
        services.append(
            Service(
                id=_str(item, "id", spath) or "",
                name=_str(item, "name", spath) or "",
                status=_choice(
                    item, "status", spath, SERVICE_STATUSES, nullable=False, strict=strict
                )
                or "",
                score=_choice(item, "score", spath, SCORES, nullable=True, strict=strict),
                completed_at=_datetime(item, "completedAt", spath, required=False),
                report_url=_url(item, "reportUrl", spath, drop_bad=drop_bad_urls),
            )
        )
    return Screening(
        id=_str(payload, "id", path) or "",
        order_number=_str(payload, "orderNumber", path, required=False),
        client_reference_id=_str(payload, "clientReferenceId", path) or "",
        package_id=_str(payload, "packageId", path, required=False),
        status=_choice(payload, "status", path, ORDER_STATUSES, nullable=False, strict=strict)
        or "",
        piecemeal_status=_choice(
            payload, "piecemealStatus", path, PIECEMEAL_STATUSES, nullable=True, strict=strict
        ),
        score=_choice(payload, "score", path, SCORES, nullable=True, strict=strict),
        report_url=_url(payload, "reportUrl", path, drop_bad=drop_bad_urls),
        updated_at=_datetime(payload, "updatedAt", path, required=True),  # type: ignore[arg-type]
        completed_at=_datetime(payload, "completedAt", path, required=False),
        error=error,
        services=tuple(services),
        raw=payload,
    )


def parse_callback(body: Any, *, strict_values: bool = True) -> Screening:
    """A callback body: `{"type": "screening", "payload": <screening object>}`."""
    if not isinstance(body, dict):
        raise SchemaError("body", "Must be a JSON object.")
    if body.get("type") != "screening":
        raise SchemaError("type", "Must be 'screening'.")
    if "payload" not in body:
        raise SchemaError("payload", "This field is required.")
    return parse_screening(body["payload"], path="payload.", strict_values=strict_values)
