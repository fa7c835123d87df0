"""Backcheck screening API client (docs/CONTRACT.md §6), on the one HTTP choke point.

Auth is OAuth2 client credentials. Access tokens are kept in this process's memory only (never in
Django's cache, never next to the client secret) until shortly before they expire, shared by every
client instance of the process that talks to the same Backcheck account, and fetched again once
when the API answers 401 (a token revoked or expired early on Backcheck's side).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from connectors.backcheck.mapping import Candidate
from connectors.backcheck.schema import SchemaError, Screening, parse_screening
from connectors.crypto import Secret
from connectors.http import HttpClient, HttpError, NotConfigured

if TYPE_CHECKING:
    from connectors.models import Tenant

_T = TypeVar("_T")

# Refresh this long before the announced expiry (capped at a tenth of the lifetime for short-lived
# tokens) so a request never leaves with a token that dies in flight.
TOKEN_EXPIRY_MARGIN_S = 60.0


class BackcheckNotConfigured(NotConfigured):
    """The tenant lacks a Backcheck base URL, client id or client secret."""

    service = "Backcheck"


@dataclass(frozen=True)
class PackageInfo:
    id: str
    name: str


@dataclass
class _CachedToken:
    access_token: str
    expires_at: float  # time.monotonic()
    # Fingerprint of the credentials that obtained the token: a tenant whose secret was changed
    # (or mistyped) must not ride on a token the old secret obtained. Not the secret itself.
    credentials_fingerprint: str


_token_lock = threading.Lock()
_tokens: dict[tuple[str, str], _CachedToken] = {}


def clear_token_cache() -> None:
    """Forget every cached access token (tests; credential rotation)."""
    with _token_lock:
        _tokens.clear()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class BackcheckClient:
    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.http = HttpClient(base_url, connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._client_id = client_id
        self._client_secret = client_secret
        self._cache_key = (self.http.base_url, _digest(client_id))
        self._fingerprint = hmac.new(
            client_id.encode(), client_secret.encode(), hashlib.sha256
        ).hexdigest()

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> BackcheckClient:
        missing = [
            label
            for label, value in (
                ("Backcheck base URL", tenant.backcheck_base_url),
                ("Backcheck client id", tenant.backcheck_client_id),
                ("Backcheck client secret", tenant.backcheck_client_secret),
            )
            if not value
        ]
        if missing:
            raise BackcheckNotConfigured(
                f"Tenant {tenant.slug!r} has no {', '.join(missing)} set.", missing=tuple(missing)
            )
        return cls(
            base_url=tenant.backcheck_base_url,
            client_id=_reveal(tenant.backcheck_client_id),
            client_secret=_reveal(tenant.backcheck_client_secret),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BackcheckClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BackcheckClient({self.http.base_url!r})"

    # --- token ---------------------------------------------------------------------------------

    def obtain_token(self, *, fresh: bool = False) -> str:
        """A valid access token: the cached one, or (when `fresh`, absent, expiring or obtained
        with other credentials) a new one from `POST /oauth/token`."""
        if not fresh:
            with _token_lock:
                cached = _tokens.get(self._cache_key)
            if (
                cached is not None
                and cached.credentials_fingerprint == self._fingerprint
                and time.monotonic() < cached.expires_at
            ):
                return cached.access_token
        response = _idempotent(
            lambda: self.http.request(
                "POST",
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
            )
        )
        body = response.body
        token = body.get("access_token") if isinstance(body, dict) else None
        token_type = body.get("token_type") if isinstance(body, dict) else None
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        if (
            not isinstance(token, str)
            or not token
            or not isinstance(token_type, str)
            or token_type.lower() != "bearer"
            or not isinstance(expires_in, (int, float))
            or isinstance(expires_in, bool)
            or expires_in <= 0
        ):
            raise HttpError(
                "permanent",
                "Backcheck's token response is not an OAuth2 bearer token "
                "(access_token, token_type 'Bearer', expires_in).",
                response.status,
            )
        margin = min(TOKEN_EXPIRY_MARGIN_S, expires_in / 10)
        with _token_lock:
            _tokens[self._cache_key] = _CachedToken(
                token, time.monotonic() + expires_in - margin, self._fingerprint
            )
        return token

    def _forget_token(self, token: str) -> None:
        with _token_lock:
            cached = _tokens.get(self._cache_key)
            if cached is not None and cached.access_token == token:
                del _tokens[self._cache_key]

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call with a bearer token; on 401 a new token and exactly one more try."""
        token = self.obtain_token()
        try:
            return self.http.request(method, path, headers=_bearer(token), **kwargs)
        except HttpError as exc:
            if exc.status != 401:
                raise
        self._forget_token(token)
        token = self.obtain_token(fresh=True)
        return self.http.request(method, path, headers=_bearer(token), **kwargs)

    # --- API -----------------------------------------------------------------------------------

    def list_packages(self) -> list[PackageInfo]:
        body = _idempotent(lambda: self._call("GET", "/packages")).body
        if not isinstance(body, list):
            raise HttpError("permanent", "Backcheck's package list is not a JSON list.", 200)
        packages = []
        for item in body:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("id"), str)
                or not isinstance(item.get("name"), str)
            ):
                raise HttpError(
                    "permanent", "Backcheck's package list has an entry without id and name.", 200
                )
            packages.append(PackageInfo(id=item["id"], name=item["name"]))
        return packages

    def create_screening(
        self,
        *,
        client_reference_id: str,
        package_id: str,
        candidate: Candidate,
        callback_uri: str,
        callback_username: str,
        callback_password: str,
    ) -> Screening:
        """Order a screening. Safe to repeat with the same `client_reference_id`: Backcheck answers
        409 with the id of the screening it already has, which is fetched and returned.

        A read timeout or dropped connection stays `ambiguous` (the screening may exist); calling
        again with the same reference is how the caller finds out.
        """
        payload = {
            "clientReferenceId": client_reference_id,
            "packageId": package_id,
            "candidate": candidate.as_api(),
            "callback": {
                "uri": callback_uri,
                "credentials": {
                    "basicAuth": {"username": callback_username, "password": callback_password}
                },
            },
        }
        response = self._call(
            "POST", "/screenings", json_body=payload, ok_statuses=frozenset({409})
        )
        if response.status != 409:
            screening = _screening(response.body, response.status)
        else:
            existing = response.body.get("id") if isinstance(response.body, dict) else None
            if not isinstance(existing, str) or not existing:
                raise HttpError(
                    "permanent",
                    "Backcheck answered 409 without the id of the existing screening.",
                    409,
                    body=response.body,
                )
            screening = self.get_screening(existing)
        if screening.client_reference_id != client_reference_id:
            raise HttpError(
                "permanent",
                f"Backcheck returned screening {screening.id} for another client reference.",
                response.status,
            )
        return screening

    def get_screening(self, screening_id: str) -> Screening:
        response = _idempotent(lambda: self._call("GET", _screening_path(screening_id)))
        return _screening(response.body, response.status)

    def cancel_screening(self, screening_id: str) -> Screening:
        # Cancelling twice leaves the screening cancelled: repeating after a timeout is safe.
        response = _idempotent(
            lambda: self._call("POST", _screening_path(screening_id) + "/cancel")
        )
        return _screening(response.body, response.status)


def _reveal(value: Secret | str | None) -> str:
    # A tenant loaded from the database holds `Secret`s; one just assigned in code may hold str.
    # Never None: for_tenant has refused a tenant without the value.
    return value.reveal() if isinstance(value, Secret) else str(value)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _screening_path(screening_id: str) -> str:
    return "/screenings/" + quote(screening_id, safe="")


def _screening(body: Any, status: int) -> Screening:
    try:
        return parse_screening(body, drop_bad_urls=True)
    except SchemaError as exc:
        raise HttpError(
            "permanent", f"Backcheck returned a screening this portal cannot read: {exc}", status
        ) from None


def _idempotent(call: Callable[[], _T]) -> _T:
    """Run `call`; an ambiguous failure becomes transient. For calls that are safe to repeat
    (reads, token requests, cancel) "the other side may have acted" changes nothing, so the
    caller's ordinary retry is the right answer."""
    try:
        return call()
    except HttpError as exc:
        if exc.kind == "ambiguous":
            exc.kind = "transient"
        raise
