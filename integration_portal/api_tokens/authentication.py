"""`Authorization: Token <token>`, checked against the stored hash and the expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from integration_portal.api_tokens.models import ApiToken, token_digest

# last_used_at is a hint for operators, not an audit: written at most once a minute per token.
_TOUCH_EVERY = timedelta(minutes=1)


class HashedTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        row = ApiToken.objects.select_related("user").filter(key_hash=token_digest(key)).first()
        now = timezone.now()
        if row is None or not row.is_usable(now) or not row.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row
