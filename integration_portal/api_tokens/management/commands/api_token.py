"""`manage.py api_token create USERNAME [--days N] [--name NAME]`, `list`, `revoke PREFIX`.

The token is printed once, at creation; only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from integration_portal.api_tokens.models import DEFAULT_TTL_DAYS, ApiToken


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (stored hashed, with an expiry)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = sub.add_parser("create", help="Create a token for a user and print it once.")
        create.add_argument("username")
        create.add_argument("--days", type=int, default=DEFAULT_TTL_DAYS)
        create.add_argument("--name", default="")
        sub.add_parser("list", help="List tokens (prefix, user, expiry; never the token).")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "do_" + options["action"])(options)

    def do_create(self, options: dict[str, Any]) -> None:
        days = options["days"]
        if not 1 <= days <= 366:
            raise CommandError("--days must be between 1 and 366.")
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None or not user.is_active:
            raise CommandError(f"No active user {options['username']!r}.")
        row, token = ApiToken.issue(user=user, name=options["name"], days=days)
        self.stdout.write(token)
        self.stderr.write(
            f"Token {row.prefix}… for {user.get_username()} expires "
            f"{row.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now; only its hash is stored."
        )

    def do_list(self, options: dict[str, Any]) -> None:
        now = timezone.now()
        for row in ApiToken.objects.select_related("user"):
            state = "revoked" if row.revoked_at else ("expired" if row.expires_at <= now else "ok")
            self.stdout.write(
                f"{row.prefix}…  {row.user.get_username()}  {row.name or '-'}  "
                f"expires {row.expires_at:%Y-%m-%d}  {state}"
            )

    def do_revoke(self, options: dict[str, Any]) -> None:
        rows = ApiToken.objects.filter(prefix=options["prefix"], revoked_at__isnull=True)
        count = rows.update(revoked_at=timezone.now())
        if not count:
            raise CommandError(f"No active token starts with {options['prefix']!r}.")
        self.stdout.write(f"Revoked {count} token(s).")
