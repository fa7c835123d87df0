"""API tokens for scripts: `Authorization: Token <token>` on /api/v1/.

Only a SHA-256 of a token is stored (the token is 256 random bits, so a fast hash is enough: it
cannot be guessed offline), and every token expires. A database dump hands out no usable token.
The token itself is shown once, by `manage.py api_token create`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

DEFAULT_TTL_DAYS = 90
PREFIX_LENGTH = 8


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """256 random bits, urlsafe. Never starting with "-": its prefix is what an operator types
    after `api_token revoke`, where a leading dash would be read as an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    # The first characters, to tell tokens apart in a list; never enough to use one.
    prefix = models.CharField(max_length=PREFIX_LENGTH)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @classmethod
    def issue(cls, *, user, name: str = "", days: int = DEFAULT_TTL_DAYS) -> tuple[ApiToken, str]:
        """A new token for `user`; returns the row and the token, which is not stored."""
        token = new_token()
        row = cls.objects.create(
            user=user,
            name=name,
            prefix=token[:PREFIX_LENGTH],
            key_hash=token_digest(token),
            expires_at=timezone.now() + timedelta(days=days),
        )
        return row, token

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now
