"""The fake Lever's accounts, data, stage moves and webhooks, and its Python control API.

Faults and the request log are `faults`, the rate limit and pagination `limits`, a new account's
stages and user `defaults`. The HTTP server around it is `server.FakeLever`; the routes are
`routes` (Lever's API) and `control` (the control API and the recruiter's notes page).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any

from connectors.lever.fake import webhooks
from connectors.lever.fake.defaults import DEFAULT_STAGES, DEFAULT_USERS
from connectors.lever.fake.faults import FaultsAndLog
from connectors.lever.fake.limits import RateLimitAndPages

# A JSON object as the fake keeps it: an account, an opportunity, a note, a log entry.
Json = dict[str, Any]
Query = dict[str, list[str]]


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


def _now_ms() -> int:
    return int(time.time() * 1000)


def forbidden_rule(rule: str) -> tuple[str, list[str], str | None]:
    method, _, target = rule.strip().partition(" ")
    path, _, param = target.partition("?")
    if not method or not path.startswith("/"):
        raise ValueError(f"forbidden rules read 'METHOD /path[?param]', not {rule!r}")
    return method.upper(), path.strip("/").split("/"), param or None


class LeverState(FaultsAndLog, RateLimitAndPages):
    """The fake's state and its Python control API; thread-safe. `server.FakeLever` serves it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_page_size: int = 100,
        webhook_retry_gaps: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0),
        webhook_timeout_s: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self.max_page_size = max_page_size
        self.webhook_retry_gaps = tuple(webhook_retry_gaps)
        self.webhook_timeout_s = webhook_timeout_s
        # "noteId" (documented) or "note" (the whole note with `id`, seen in real responses).
        self.note_response_style = "noteId"
        self.lock = threading.RLock()
        self.accounts: dict[str, Json] = {}  # by API key
        self.requests: list[Json] = []
        self.webhook_deliveries: list[Json] = []
        self.faults: list[Json] = []
        self._page_tokens: dict[str, int] = {}
        # Set when the fake stops: releases hanging requests and webhook retry waits.
        self._stop = threading.Event()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # -- accounts and data --------------------------------------------------------------------
    def add_account(
        self,
        api_key: str,
        *,
        users: list[Json] | None = None,
        stages: list[Json] | None = None,
        rate: float = 10.0,
        burst: int = 20,
        retry_after_mode: str = "retry-after",
        archived_shape: str = "object",
        forbidden: list[str] | tuple[str, ...] = (),
    ) -> None:
        """`retry_after_mode`: "retry-after" | "reset" (X-RateLimit-Reset) | "none" on a 429.

        `archived_shape`: "object" (an `archived` object, null when active) or "top-level"
        (`archivedAt` / `archiveReason`, as in the reference's opportunity example).
        `forbidden`: what this key lacks the permission for, answered 403 like Lever: rules
        "METHOD /path" where the path (after /v1) may use `*` for one segment, and may end in
        `?param` to refuse only requests carrying that query parameter — e.g. "GET /stages",
        "GET /postings/*", "POST /opportunities/*/notes?perform_as".
        """
        if retry_after_mode not in ("retry-after", "reset", "none"):
            raise ValueError("retry_after_mode must be retry-after, reset or none")
        if archived_shape not in ("object", "top-level"):
            raise ValueError("archived_shape must be object or top-level")
        with self.lock:
            self.accounts[api_key] = {
                "key_id": f"acct-{len(self.accounts) + 1}",
                "users": [dict(u) for u in (users if users is not None else DEFAULT_USERS)],
                "stages": [dict(s) for s in (stages if stages is not None else DEFAULT_STAGES)],
                "opportunities": {},
                "postings": {},
                "notes": {},
                "bucket": {
                    "rate": float(rate),
                    "burst": int(burst),
                    "tokens": float(burst),
                    "at": time.monotonic(),
                },
                "retry_after_mode": retry_after_mode,
                "archived_shape": archived_shape,
                "forbidden": [forbidden_rule(rule) for rule in forbidden],
            }

    def set_rate_limit(
        self, api_key: str, *, rate: float, burst: int, retry_after_mode: str | None = None
    ) -> None:
        with self.lock:
            account = self._account(api_key)
            account["bucket"] = {
                "rate": float(rate),
                "burst": int(burst),
                "tokens": float(burst),
                "at": time.monotonic(),
            }
            if retry_after_mode:
                account["retry_after_mode"] = retry_after_mode

    def key_id(self, api_key: str) -> str:
        return str(self._account(api_key)["key_id"])

    def _account(self, api_key: str) -> Json:
        try:
            return self.accounts[api_key]
        except KeyError:
            raise ValueError("unknown fake Lever account") from None

    def _account_by(self, payload: Json) -> tuple[str, Json]:
        with self.lock:
            if isinstance(payload.get("api_key"), str):
                return payload["api_key"], self._account(payload["api_key"])
            for key, account in self.accounts.items():
                if account["key_id"] == payload.get("key_id"):
                    return key, account
        raise ValueError("name the account by api_key or key_id")

    def _posting_for(self, account: Json, tags: list[str]) -> str:
        for posting in account["postings"].values():
            if sorted(posting["tags"]) == sorted(tags):
                return str(posting["id"])
        posting_id = str(uuid.uuid4())
        account["postings"][posting_id] = {
            "id": posting_id,
            "text": f"Job posting {len(account['postings']) + 1}",
            "state": "published",
            "tags": list(tags),
            "createdAt": _now_ms(),
        }
        return posting_id

    def add_opportunity(
        self,
        api_key: str,
        *,
        name: str,
        emails: list[str] | tuple[str, ...],
        phones: Any = (),
        tags: Any = (),
        posting_tags: Any = (),
        stage: str = "lead-new",
        archived: Json | None = None,
        opportunity_id: str | None = None,
    ) -> str:
        with self.lock:
            account = self._account(api_key)
            opp_id = opportunity_id or str(uuid.uuid4())
            created = _now_ms()
            applications = []
            if posting_tags:
                applications.append(
                    {
                        "id": str(uuid.uuid4()),
                        "type": "posting",
                        "posting": self._posting_for(account, list(posting_tags)),
                        "opportunityId": opp_id,
                        "candidateId": opp_id,
                        "createdAt": created,
                    }
                )
            account["opportunities"][opp_id] = {
                "id": opp_id,
                "name": name,
                "contact": str(uuid.uuid4()),
                "emails": list(emails),
                "phones": [
                    p if isinstance(p, dict) else {"type": None, "value": str(p)} for p in phones
                ],
                "tags": list(tags),
                "links": [],
                "stage": stage,
                "stageChanges": [
                    {
                        "toStageId": stage,
                        "toStageIndex": self._stage_index(account, stage),
                        "updatedAt": created,
                        "userId": None,
                    }
                ],
                "archived": archived,
                "createdAt": created,
                "updatedAt": created,
                "lastAdvancedAt": created,
                "urls": {
                    "list": f"{self.root_url}/candidates",
                    "show": f"{self.root_url}/candidates/{opp_id}",
                },
                "applications": applications,
            }
            account["notes"][opp_id] = []
            return opp_id

    def delete_opportunity(self, api_key: str, opportunity_id: str) -> None:
        """Delete the opportunity as a Lever user would: GET /opportunities/{id} answers 404
        from now on, and GET /opportunities/deleted lists it."""
        with self.lock:
            account = self._account(api_key)
            opp = account["opportunities"].pop(opportunity_id)
            account.setdefault("deleted", []).append(
                {
                    "id": opp["id"],
                    "deletedAt": _now_ms(),
                    "deletedBy": None,
                    "contact": opp["contact"],
                }
            )

    @staticmethod
    def _stage_index(account: Json, stage_id: str) -> int | None:
        for index, stage in enumerate(account["stages"]):
            if stage["id"] == stage_id:
                return index
        return None

    def opportunity(self, api_key: str, opportunity_id: str) -> Json:
        with self.lock:
            opp: Json = self._account(api_key)["opportunities"][opportunity_id]
            copy: Json = json.loads(json.dumps(opp))
            return copy

    def notes(self, api_key: str, opportunity_id: str) -> list[Json]:
        """Live notes, oldest first: {"id", "value", "createdAt", "user", "secret", ...}."""
        with self.lock:
            notes = self._account(api_key)["notes"].get(opportunity_id, [])
            return [
                {**n, "value": n["fields"][0]["value"]} for n in notes if n["deletedAt"] is None
            ]

    # -- stage moves and webhooks -------------------------------------------------------------
    def move_to_stage(
        self,
        api_key: str,
        opportunity_id: str,
        stage_id: str,
        *,
        webhook_url: str | None = None,
        signature_token: str | None = None,
    ) -> Json:
        """Move the candidate; POST the signed webhook if a URL is given. Returns the body."""
        with self.lock:
            account = self._account(api_key)
            opp = account["opportunities"].get(opportunity_id)
            if opp is None:
                raise ValueError("unknown opportunity")
            index = self._stage_index(account, stage_id)
            if index is None:
                raise ValueError("unknown stage")
            now = _now_ms()
            signature_token = signature_token or account.get("signature_token")
            from_stage = opp["stage"]
            user_id = account["users"][0]["id"] if account["users"] else None
            opp["stage"] = stage_id
            opp["stageChanges"].append(
                {"toStageId": stage_id, "toStageIndex": index, "updatedAt": now, "userId": user_id}
            )
            opp["lastAdvancedAt"] = opp["updatedAt"] = now
            data = {
                "opportunityId": opp["id"],
                "candidateId": opp["id"],
                "contactId": opp["contact"],
                "toStageId": stage_id,
                "fromStageId": from_stage,
            }
        body = self.signed_body("candidateStageChange", data, signature_token, triggered_at=now)
        if webhook_url:
            self.deliver(webhook_url, body, retries=len(self.webhook_retry_gaps))
        return body

    def signed_body(
        self,
        event: str,
        data: Json,
        signature_token: str | None,
        *,
        triggered_at: int | None = None,
    ) -> Json:
        return webhooks.signed_body(event, data, signature_token, triggered_at=triggered_at)

    def send_verify_connection(
        self, webhook_url: str, *, signature_token: str | None = None
    ) -> int:
        """Lever's Verify Connection test (data {}): one attempt; returns the status (0: no answer)."""
        body = self.signed_body("candidateStageChange", {}, signature_token)
        return self.deliver(webhook_url, body, retries=0)

    def deliver(self, url: str, body: Json, *, retries: int) -> int:
        """POST like Lever, retried on non-2xx; every attempt lands in `webhook_deliveries`."""
        return webhooks.deliver(
            url,
            body,
            retries=retries,
            retry_gaps=self.webhook_retry_gaps,
            timeout_s=self.webhook_timeout_s,
            stop=self._stop,
            record=self._record_delivery,
        )

    def _record_delivery(self, attempt: Json) -> None:
        with self.lock:
            self.webhook_deliveries.append(attempt)

    # -- request log ------------------------------------------------------------------------
    def requests_for(self, api_key: str) -> list[Json]:
        kid = self.key_id(api_key)
        with self.lock:
            return [r for r in self.requests if r["key_id"] == kid]


def seed_account(
    fake: LeverState, api_key: str, signature_token: str, seed: dict[str, Any]
) -> None:
    """One account with `seed`'s users, stages and candidates (shaped like the demo data in
    connectors/demo_data.py), its webhooks signed with `signature_token`."""
    fake.add_account(api_key, users=seed["users"], stages=seed["stages"])
    with fake.lock:
        fake.accounts[api_key]["signature_token"] = signature_token
    for candidate in seed["candidates"].values():
        fake.add_opportunity(
            api_key,
            name=candidate["name"],
            emails=candidate["emails"],
            phones=candidate["phones"],
            tags=candidate["tags"],
            posting_tags=candidate["posting_tags"],
            stage=candidate["stage"],
            opportunity_id=candidate["opportunity_id"],
        )
