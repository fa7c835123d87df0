"""`manage.py tenants …` — tenant set-up from the command line (docs/CONTRACT.md §8).

The same services as the set-up pages; the audit trail names the actor "cli". Secrets are read
from stdin (a prompt without echo on a terminal), never from argv, where they would land in shell
history and the process list.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.checks import tenant_check
from connectors.models import SECRET_FIELDS, Tenant
from connectors.tenants import credentials, packages, selectors, services

ACTOR = "cli"


def _error(exc: ValidationError) -> CommandError:
    return CommandError(" ".join(exc.messages))


class Command(BaseCommand):
    help = (
        "Create and inspect tenants: add, add-package, set-url, set-secret, retire-token, list, "
        "show, check."
    )
    # call_command(..., stdin=stream) feeds set-secret in tests and scripts.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        add = sub.add_parser("add", help="Create a tenant.")
        add.add_argument("slug")
        add.add_argument("--name", required=True)
        add.add_argument(
            "--lever-base-url",
            required=True,
            help="production, sandbox, eu, or a custom URL",
        )
        add.add_argument("--backcheck-base-url", required=True)
        add.add_argument(
            "--trigger-stage",
            action="append",
            required=True,
            dest="trigger_stages",
            metavar="STAGE_ID",
            help="Lever stage id that starts a check (repeat for several)",
        )
        add.add_argument("--piecemeal", action="store_true")
        add.add_argument("--cma", action="store_true")
        add.add_argument("--notes-secret", action="store_true")
        add.add_argument("--note-author", default="", metavar="USER_ID")

        pkg = sub.add_parser("add-package", help="Add a screening package to a tenant's catalog.")
        pkg.add_argument("slug")
        pkg.add_argument("code", help="Backcheck packageId")
        pkg.add_argument("--name", required=True)
        pkg.add_argument("--lever-tag", default="")
        pkg.add_argument("--default", action="store_true")

        set_url = sub.add_parser(
            "set-url",
            help="Change the Lever or Backcheck base URL; clears the credentials sent to it.",
        )
        set_url.add_argument("slug")
        set_url.add_argument("system", choices=["lever", "backcheck"])
        set_url.add_argument("url", help="for Lever: production, sandbox, eu, or a custom URL")

        secret = sub.add_parser(
            "set-secret", help="Store a credential, read from stdin (never from the command line)."
        )
        secret.add_argument("slug")
        secret.add_argument("name", choices=list(SECRET_FIELDS))

        retire = sub.add_parser(
            "retire-token", help="Stop accepting the previous Lever signature token."
        )
        retire.add_argument("slug")

        sub.add_parser("list", help="List tenants.")
        show = sub.add_parser("show", help="Webhook URL, settings and masked credentials.")
        show.add_argument("slug")
        check = sub.add_parser("check", help="Test the Lever and Backcheck connections.")
        check.add_argument("slug")
        check.add_argument("--json", action="store_true", help="print the full result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, "do_" + options["action"].replace("-", "_"))
        handler(options)

    def _tenant(self, slug: str) -> Tenant:
        tenant = selectors.tenant_get_by_slug(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant with the slug {slug!r} (see `manage.py tenants list`).")
        return tenant

    # --- writes ------------------------------------------------------------------------------

    def do_add(self, options: dict[str, Any]) -> None:
        try:
            tenant = services.tenant_create(
                actor=ACTOR,
                slug=options["slug"],
                name=options["name"],
                lever_base_url=options["lever_base_url"],
                backcheck_base_url=options["backcheck_base_url"],
                trigger_stage_ids=options["trigger_stages"],
                note_author_user_id=options["note_author"],
                notes_secret=options["notes_secret"],
                piecemeal=options["piecemeal"],
                cma=options["cma"],
            )
        except ValidationError as exc:
            raise _error(exc)
        self.stdout.write(f"Created tenant {tenant.slug}.")
        self.stdout.write(
            f"Webhook URL (give it to the tenant's Lever admin): {tenant.webhook_url}"
        )
        self.stdout.write(
            "Next: `tenants set-secret` for lever-api-key, lever-signature-token, "
            "backcheck-client-id and backcheck-client-secret; `tenants add-package`."
        )

    def do_add_package(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        try:
            package = packages.package_add(
                tenant=tenant,
                actor=ACTOR,
                code=options["code"],
                name=options["name"],
                lever_tag=options["lever_tag"],
                is_default=options["default"],
            )
        except ValidationError as exc:
            raise _error(exc)
        default = " (default)" if package.is_default else ""
        self.stdout.write(f"Added package {package.code}{default} to {tenant.slug}.")

    def do_set_url(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        system = options["system"]
        try:
            changed = services.tenant_set_url(
                tenant=tenant, actor=ACTOR, system=system, url=options["url"]
            )
        except ValidationError as exc:
            raise _error(exc)
        label = "Lever" if system == "lever" else "Backcheck"
        if not changed:
            self.stdout.write(f"The {label} base URL of {tenant.slug} is unchanged.")
            return
        url = tenant.lever_base_url if system == "lever" else tenant.backcheck_base_url
        self.stdout.write(f"Set the {label} base URL of {tenant.slug} to {url}.")
        names = [
            name
            for name, attr in SECRET_FIELDS.items()
            if attr in credentials.BOUND_CREDENTIALS[f"{system}_base_url"]
        ]
        self.stdout.write(
            "Any credentials stored for the old URL were cleared; store them again with `tenants set-secret` for "
            + " and ".join(names)
            + "."
        )

    def _read_secret(self, options: dict[str, Any], label: str) -> str:
        stream = options.get("stdin") or sys.stdin
        if stream.isatty():
            return getpass.getpass(f"{label} (input hidden): ", stream=sys.stderr)
        # One value per call; the trailing newline of `echo` or a file is not part of it.
        return stream.read()

    def do_set_secret(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        name = options["name"]
        label = credentials.SECRET_LABELS[name]
        value = self._read_secret(options, label)
        try:
            changed = credentials.tenant_set_secret(
                tenant=tenant, actor=ACTOR, name=name, value=value
            )
        except ValidationError as exc:
            raise _error(exc)
        if not changed:
            self.stdout.write(f"The {label} of {tenant.slug} is unchanged (same value).")
            return
        masked = getattr(tenant, SECRET_FIELDS[name]).masked
        self.stdout.write(f"Stored the {label} of {tenant.slug}: {masked}")
        if name == "lever-signature-token" and tenant.lever_signature_token_previous is not None:
            self.stdout.write(
                "The previous signature token stays valid until "
                f"`manage.py tenants retire-token {tenant.slug}`."
            )

    def do_retire_token(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        if credentials.tenant_retire_previous_token(tenant=tenant, actor=ACTOR):
            self.stdout.write(
                f"Retired the previous signature token of {tenant.slug}; "
                "only the current one verifies now."
            )
        else:
            self.stdout.write(f"{tenant.slug} has no previous signature token; nothing to retire.")

    # --- reads -------------------------------------------------------------------------------

    def do_list(self, options: dict[str, Any]) -> None:
        tenants = list(selectors.tenant_list_all())
        if not tenants:
            self.stdout.write("No tenants.")
            return
        rows = [("SLUG", "NAME", "ACTIVE", "CREDENTIALS", "PACKAGES", "LAST CHECK")]
        for tenant in tenants:
            statuses = selectors.tenant_secret_statuses(tenant=tenant)
            creds = f"{sum(s.is_set for s in statuses)}/{len(statuses)} set"
            last = (tenant.last_check_result or {}).get("status", "never")
            rows.append(
                (
                    tenant.slug,
                    tenant.name,
                    "yes" if tenant.is_active else "no",
                    creds,
                    str(tenant.package_count),
                    last,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )

    def do_show(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        out = self.stdout.write
        for label, value in selectors.tenant_settings(tenant=tenant):
            out(f"{label}: {value}")
        out("Credentials:")
        for status in selectors.tenant_secret_statuses(tenant=tenant):
            out(f"  {status.name}: {status.masked if status.is_set else '(not set)'}")
        previous = selectors.tenant_previous_token_masked(tenant=tenant)
        if previous:
            out(f"  previous lever-signature-token (still accepted): {previous}")
        out("Packages:")
        for package in selectors.package_list(tenant=tenant):
            tag = f" tag={package.lever_tag}" if package.lever_tag else ""
            default = " default" if package.is_default else ""
            out(f"  {package.code}: {package.name}{tag}{default}")
        managers = ", ".join(u.get_username() for u in tenant.account_managers.order_by("username"))
        out(f"Account managers: {managers or '(none)'}")
        if tenant.last_check_result:
            out(
                f"Last check: {tenant.last_check_result.get('status')} at "
                f"{tenant.last_check_at.isoformat() if tenant.last_check_at else '?'}"
            )
        else:
            out("Last check: never")

    def do_check(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        result = tenant_check(tenant)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, sort_keys=True))
        else:
            self._print_check(result)
        if result["status"] != "ok":
            raise CommandError(
                f"Connection check of {tenant.slug} failed: Lever {result['lever'].get('status')}, "
                f"Backcheck {result['backcheck'].get('status')}."
            )

    def _print_check(self, result: dict[str, Any]) -> None:
        out = self.stdout.write
        lever, backcheck = result["lever"], result["backcheck"]
        out(
            f"Lever: {lever.get('status')} {('- ' + lever['detail']) if lever.get('detail') else ''}"
        )
        for stage in lever.get("stages") or []:
            name = f'"{stage.get("name")}"' if stage.get("known") else "UNKNOWN in Lever"
            out(f"  trigger stage {stage.get('id')}: {name}")
        author = lever.get("note_author")
        if author:
            found = author.get("name") if author.get("found") else "NOT FOUND in Lever"
            out(f"  note author {author.get('id')}: {found}")
        detail = backcheck.get("detail")
        out(f"Backcheck: {backcheck.get('status')} {('- ' + detail) if detail else ''}")
        for package in backcheck.get("packages") or []:
            found = "found" if package.get("found") else "NOT OFFERED by Backcheck"
            out(f"  package {package.get('code')}: {found}")
        out(f"Overall: {result['status']} (checked at {result['checked_at']})")
