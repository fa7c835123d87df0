"""Lever's rate limit and pagination, as the fake applies them to its API (docs/LEVER.md).

A mixin of `state.LeverState`: a token bucket per account, and pages whose `next` token is an
opaque string the fake remembers.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from connectors.lever.fake.errors import ApiError

Json = dict[str, Any]
Query = dict[str, list[str]]


class RateLimitAndPages:
    """Answers `server` and `routes` ask for: may this request go now, and one page of a list."""

    lock: threading.RLock
    max_page_size: int
    _page_tokens: dict[str, int]

    # -- rate limit ---------------------------------------------------------------------------
    def _take_token(self, account: Json) -> float:
        """0.0 when the request may proceed, else seconds until a token is available."""
        with self.lock:
            bucket = account["bucket"]
            now = time.monotonic()
            bucket["tokens"] = min(
                bucket["burst"], bucket["tokens"] + (now - bucket["at"]) * bucket["rate"]
            )
            bucket["at"] = now
            if bucket["tokens"] >= 1.0:
                bucket["tokens"] -= 1.0
                return 0.0
            return float((1.0 - bucket["tokens"]) / bucket["rate"])

    # -- pagination ---------------------------------------------------------------------------
    def _page(self, items: list[Json], query: Query) -> Json:
        limit_text = (query.get("limit") or ["100"])[0]
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise ApiError(400, "BadRequestError", "limit must be an integer from 1 to 100")
        limit = min(int(limit_text), self.max_page_size)
        offset = 0
        if query.get("offset"):
            with self.lock:
                offset_at = self._page_tokens.get(query["offset"][0])
            if offset_at is None:
                raise ApiError(400, "BadRequestError", "Invalid offset token")
            offset = offset_at
        page = items[offset : offset + limit]
        has_next = offset + limit < len(items)
        body: dict[str, Any] = {"data": page, "hasNext": has_next}
        if has_next:
            token = secrets.token_urlsafe(12)
            with self.lock:
                if len(self._page_tokens) > 100_000:
                    self._page_tokens.clear()
                self._page_tokens[token] = offset + limit
            body["next"] = token
        return body
