"""A portal user's own preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserProfile(models.Model):
    """A portal user's own preferences. A user without a row has the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile"
    )
    attention_emails = models.BooleanField(
        "Email me when a case of my tenants needs attention",
        default=True,
        help_text="At most one email every 15 minutes, listing the cases with links.",
    )
    attention_emailed_at = models.DateTimeField(null=True, blank=True)
    # The attention items ("note:12", "cancel:3", …) the emails so far have covered and that
    # still need attention: only items not in here make a new email.
    attention_notified = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"
