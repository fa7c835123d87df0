"""Lever Data API client: one method per call we make, typed answers (docs/LEVER.md).

All HTTP goes through `connectors.http.HttpClient` (timeouts, User-Agent, error classification).
What this layer adds: Basic auth with the tenant's key, the per-key rate limiter asked before
every request, Lever's response envelopes and pagination, and typed objects.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from connectors.http import HttpClient, HttpError, HttpResponse, NotConfigured
from connectors.lever.ratelimit import Limiter, get_limiter
from connectors.lever.shapes import (
    DeletedOpportunity,
    DeletedPage,
    Note,
    Opportunity,
    Stage,
    User,
    int_or_none,
    parse_note,
    parse_opportunity,
    str_list,
)

if TYPE_CHECKING:
    from connectors.crypto import Secret

PAGE_LIMIT = 100  # Lever's maximum `limit` (docs/LEVER.md, Responses)
MAX_PAGES = 1000  # a server that never stops saying hasNext must not loop us forever
# Without Retry-After/X-RateLimit-Reset a 429 blocks the key for BASE·2^(n-1) s (n = 429s in a
# row), capped, with jitter so that the workers of one tenant do not all return at once.
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
# Lever meters per second; a wait of more than a few minutes is a misbehaving proxy or clock,
# and must not stop a tenant's notes for hours.
MAX_BLOCK_S = 300.0


class LeverAccount(Protocol):
    """What the Lever calls and checks read of a tenant: a Tenant, or the unsaved candidate
    settings of an intake link (connectors/intake.py)."""

    @property
    def slug(self) -> str: ...
    @property
    def lever_base_url(self) -> str: ...
    @property
    def lever_api_key(self) -> Secret | None: ...
    @property
    def lever_rate_per_s(self) -> float: ...
    @property
    def lever_burst(self) -> int: ...
    @property
    def trigger_stage_ids(self) -> list[Any] | None: ...
    @property
    def note_author_user_id(self) -> str: ...


class LeverNotConfigured(NotConfigured, ValueError):
    """The tenant has no Lever API key stored."""

    service = "Lever"

    def __init__(self, message: str) -> None:
        super().__init__(message, missing=("Lever API key",))


class RateLimited(HttpError):
    """Our own limiter says wait; raised before anything is sent, so it is always safe to retry."""

    def __init__(self, retry_after_s: float, message: str | None = None) -> None:
        super().__init__(
            kind="transient",
            message=message or f"Lever rate limit for this API key: retry in {retry_after_s:.2f}s",
            status=None,
            retry_after_s=retry_after_s,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Survives pickling (result backends, multiprocessing) with its wait intact.
        return (RateLimited, (self.retry_after_s, self.message))


def backoff_after_429(strikes: int) -> float:
    """Jittered exponential wait when Lever's 429 names no wait of its own."""
    ceiling: float = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, strikes - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _seg(value: str) -> str:
    # Ids come from webhook bodies (unsigned data): never let one add path segments or a query.
    return quote(str(value), safe="")


def _shape_error(what: str, response: HttpResponse) -> HttpError:
    # A 2xx we cannot read is most likely a proxy or maintenance page: retrying a read is safe.
    return HttpError(
        "transient",
        f"unexpected Lever response for {what}",
        response.status,
        None,
        None,
        response.duration_ms,
    )


class LeverClient:
    """One tenant's view of Lever. Every method may raise `HttpError` (or `RateLimited`)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        rate: float = 10.0,
        burst: int = 10,
        limiter: Limiter | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        prepaid: int = 0,
    ) -> None:
        if not api_key:
            raise LeverNotConfigured("A Lever API key is required.")
        self._api_key = api_key
        self.rate = rate
        self.burst = burst
        self.limiter = limiter if limiter is not None else get_limiter()
        # Requests whose limiter slot was booked beforehand (see `reserve`).
        self._prepaid = prepaid
        # Lever's API keys are Basic auth user names with an empty password (docs/LEVER.md).
        self._http = HttpClient(
            base_url,
            auth=(api_key, ""),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )

    def __repr__(self) -> str:
        return f"LeverClient(base_url={self._http.base_url!r})"

    @classmethod
    def for_tenant(
        cls, tenant: LeverAccount, *, limiter: Limiter | None = None, prepaid: int = 0
    ) -> LeverClient:
        from connectors.models import LEVER_BASE_URL_PRESETS

        secret = tenant.lever_api_key
        if not secret:
            raise LeverNotConfigured(f"Tenant {tenant.slug!r} has no Lever API key stored.")
        base_url = LEVER_BASE_URL_PRESETS.get(tenant.lever_base_url, tenant.lever_base_url)
        return cls(
            base_url=base_url,
            api_key=secret.reveal(),
            rate=float(tenant.lever_rate_per_s),
            burst=int(tenant.lever_burst),
            limiter=limiter,
            prepaid=prepaid,
        )

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LeverClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reserve(self, *, max_wait: float, grace: float = 0.0) -> float | None:
        """Book the limiter slot for this client's next request.

        0.0: booked for now, the next request uses it. >0: booked that many seconds ahead; the
        caller must come back no earlier, and no later than `grace` after, with a client made
        with `prepaid=1`. None: nothing booked (the key is blocked, or its queue is longer than
        `max_wait`). Booking leaves rate × grace of the burst unused, so that a send up to
        `grace` late still keeps Lever within burst + rate × T.
        """
        burst = max(1, self.burst - math.ceil(self.rate * grace))
        delay = self.limiter.reserve(self._api_key, rate=self.rate, burst=burst, max_wait=max_wait)
        if delay is not None and delay <= 0:
            self._prepaid += 1
        return delay

    def blocked_for(self) -> float:
        return self.limiter.blocked_for(self._api_key)

    # -- the one path every call takes ------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        if self._prepaid > 0:
            self._prepaid -= 1  # the slot was booked beforehand
        else:
            wait = self.limiter.try_acquire(self._api_key, rate=self.rate, burst=self.burst)
            if wait > 0:
                raise RateLimited(wait)
        try:
            return self._http.request(method, path, **kwargs)
        except HttpError as exc:
            if exc.status == 429:
                # Lever's bucket is empty for this key: stop every process, not just this one.
                if exc.retry_after_s is None or exc.retry_after_s <= 0:
                    exc.retry_after_s = backoff_after_429(self.limiter.strike(self._api_key))
                exc.retry_after_s = min(exc.retry_after_s, MAX_BLOCK_S)
                self.limiter.block(self._api_key, exc.retry_after_s)
            raise

    def _get_data(
        self, path: str, what: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self._request("GET", path, params=params)
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise _shape_error(what, response)
        data: dict[str, Any] = body["data"]
        return data

    def _get_all(self, path: str, what: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._request("GET", path, params=params)
            body = response.body
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise _shape_error(what, response)
            items.extend(item for item in body["data"] if isinstance(item, dict) and "id" in item)
            token = body.get("next")
            if not body.get("hasNext") or not isinstance(token, str) or not token:
                return items
            if token in seen:
                raise _shape_error(f"{what} (pagination repeats itself)", response)
            seen.add(token)
            params = {"limit": PAGE_LIMIT, "offset": token}
        raise _shape_error(f"{what} (more than {MAX_PAGES} pages)", response)

    # -- reads ------------------------------------------------------------------------------
    def get_opportunity(self, opportunity_id: str) -> Opportunity:
        """The opportunity with its stage history, tags, and the tags of its postings."""
        data = self._get_data(
            f"opportunities/{_seg(opportunity_id)}",
            "opportunity",
            params={"expand": "applications"},
        )
        if not isinstance(data.get("id"), str):
            raise HttpError("transient", "unexpected Lever response for opportunity: no id")
        posting_tags: list[str] = []
        postings_forbidden = False
        for application in data.get("applications") or []:
            posting = application.get("posting") if isinstance(application, dict) else None
            if isinstance(posting, dict):  # already expanded
                tags = str_list(posting.get("tags"))
            elif isinstance(posting, str) and posting and not postings_forbidden:
                try:
                    posting_data = self._get_data(f"postings/{_seg(posting)}", "posting")
                except HttpError as exc:
                    # A key may lack the postings permission (Lever: 403 "forbidden by account
                    # settings"); the opportunity itself is still readable.
                    if exc.status != 403:
                        raise
                    postings_forbidden = True
                    continue
                tags = str_list(posting_data.get("tags"))
            else:
                continue
            posting_tags.extend(tag for tag in tags if tag not in posting_tags)
        opportunity = parse_opportunity(data, posting_tags)
        if postings_forbidden:
            opportunity = replace(opportunity, postings_forbidden=True)
        return opportunity

    def list_stages(self) -> list[Stage]:
        return [
            Stage(id=str(item["id"]), text=str(item.get("text") or ""))
            for item in self._get_all("stages", "stages")
        ]

    def list_users(self) -> list[User]:
        return [
            User(
                id=str(item["id"]),
                name=str(item.get("name") or ""),
                email=item.get("email") if isinstance(item.get("email"), str) else None,
                access_role=(
                    item.get("accessRole") if isinstance(item.get("accessRole"), str) else None
                ),
            )
            for item in self._get_all("users", "users")
        ]

    def list_notes(self, opportunity_id: str) -> list[Note]:
        return [
            parse_note(item)
            for item in self._get_all(f"opportunities/{_seg(opportunity_id)}/notes", "notes")
        ]

    def deleted_opportunities_page(
        self, *, deleted_since_ms: int | None, offset: str | None = None
    ) -> DeletedPage:
        """One page of Lever's list of deleted opportunities (docs/LEVER.md, Data lifecycle).

        Page by page, so that a caller stopped by the rate limiter resumes at `offset` instead of
        reading the whole list again. A key without the permission gets a 403 (`HttpError`).
        """
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        if deleted_since_ms is not None:
            params["deleted_at_start"] = int(deleted_since_ms)
        if offset:
            params["offset"] = offset
        response = self._request("GET", "opportunities/deleted", params=params)
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise _shape_error("deleted opportunities", response)
        items = [
            DeletedOpportunity(id=item["id"], deleted_at=int_or_none(item.get("deletedAt")))
            for item in body["data"]
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
        ]
        token = body.get("next")
        if not body.get("hasNext") or not isinstance(token, str) or not token:
            token = None
        elif token == offset:
            raise _shape_error("deleted opportunities (pagination repeats itself)", response)
        return DeletedPage(items=items, next=token)

    # -- writes -----------------------------------------------------------------------------
    def create_note(
        self,
        opportunity_id: str,
        *,
        value: str,
        secret: bool = False,
        perform_as: str | None = None,
        notify_followers: bool = False,
    ) -> str:
        """Post a note; returns its id. Lever has no idempotency key (see docs/CONTRACT.md §7)."""
        params = {"perform_as": perform_as} if perform_as else None
        body: dict[str, Any] = {"value": value, "secret": bool(secret)}
        if notify_followers:
            body["notifyFollowers"] = True
        response = self._request(
            "POST",
            f"opportunities/{_seg(opportunity_id)}/notes",
            params=params,
            json_body=body,
        )
        data = response.body.get("data") if isinstance(response.body, dict) else None
        if isinstance(data, dict):
            # Documented: {"noteId"}; some real responses carry the whole note with `id`.
            for key in ("noteId", "id"):
                note_id = data.get(key)
                if isinstance(note_id, str) and note_id:
                    return note_id
        # Lever said yes but not which note: the note probably exists, so the caller must look
        # before posting again — exactly the ambiguous case.
        raise HttpError(
            "ambiguous",
            "Lever accepted the note but returned no note id",
            response.status,
            None,
            None,
            response.duration_ms,
        )

    def add_tags(self, opportunity_id: str, tags: list[str]) -> None:
        self._request(
            "POST", f"opportunities/{_seg(opportunity_id)}/addTags", json_body={"tags": list(tags)}
        )

    def remove_tags(self, opportunity_id: str, tags: list[str]) -> None:
        self._request(
            "POST",
            f"opportunities/{_seg(opportunity_id)}/removeTags",
            json_body={"tags": list(tags)},
        )

    def move_to_stage(
        self, opportunity_id: str, stage_id: str, *, perform_as: str | None = None
    ) -> str:
        """Change the opportunity's stage (Lever: PUT /opportunities/{id}/stage {"stage"}).

        Returns the stage Lever reports afterwards. Lever records the move in the stage history
        like a recruiter's, and sends its Candidate Stage Change webhook for it.
        """
        params = {"perform_as": perform_as} if perform_as else None
        response = self._request(
            "PUT",
            f"opportunities/{_seg(opportunity_id)}/stage",
            params=params,
            json_body={"stage": stage_id},
        )
        data = response.body.get("data") if isinstance(response.body, dict) else None
        stage = data.get("stage") if isinstance(data, dict) else None
        if isinstance(stage, dict):
            stage = stage.get("id")
        return stage if isinstance(stage, str) else stage_id
