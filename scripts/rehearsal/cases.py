"""The rehearsal's tenants and cases: set up with `manage.py tenants`, then the standard case,
the no-email case and a burst with one worker killed, each checked by its Lever notes."""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field

from rehearsal.base import RehearsalBase
from rehearsal.clients import Client
from rehearsal.support import ROOT, Miss, say, wait_until

# Lever stages and the note author of the rehearsal's Lever accounts (the fake's demo set).
BG_STAGE = "00922a60-7c15-422b-b086-f62000824fd7"
NOTE_AUTHOR = "8d3c2b1a-0000-4000-8000-0000000000a1"
# The Lever `Status:` lines the fake Backcheck's standard script must produce, in order, once
# each: order level (New, In Progress, Completed) and, with piecemeal on, the per-service notes
# (In Production after consent and after the first service, Fulfilled before Completed).
EXPECTED_STATUSES = {
    False: ["New", "In Progress", "Completed"],
    True: ["New", "In Production", "In Progress", "In Production", "Fulfilled", "Completed"],
}


@dataclass
class Tenant:
    slug: str
    piecemeal: bool
    api_key: str = field(default_factory=lambda: "lk_" + secrets.token_urlsafe(24))
    signature_token: str = field(default_factory=lambda: "st_" + secrets.token_urlsafe(24))
    webhook_url: str = ""


class Cases(RehearsalBase):
    def setup_tenants(self) -> None:
        self.tenants = [Tenant("acme", piecemeal=True), Tenant("globex", piecemeal=False)]
        from_fake = json.loads(
            subprocess.run(
                [
                    self.python(),
                    "-c",
                    "import json; from connectors.demo_data import "
                    "DEMO_SEED as s; print(json.dumps([s['stages'], s['users']]))",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        stages, users = from_fake
        for tenant in self.tenants:
            status, _ = self.lever.post_json(
                "/_control/accounts",
                {
                    "api_key": tenant.api_key,
                    "stages": stages,
                    "users": users,
                    "signature_token": tenant.signature_token,
                },
            )
            if status != 201:
                raise Miss(f"fake Lever refused the account of {tenant.slug}: {status}")
            self.secrets[f"{tenant.slug}_lever_api_key"] = tenant.api_key
            self.secrets[f"{tenant.slug}_signature_token"] = tenant.signature_token
            flags = ["--piecemeal"] if tenant.piecemeal else []
            self.manage(
                "tenants",
                "add",
                tenant.slug,
                "--name",
                tenant.slug.title() + " Inc",
                "--lever-base-url",
                f"http://127.0.0.1:{self.lever_port}/v1",
                "--backcheck-base-url",
                f"http://127.0.0.1:{self.backcheck_port}",
                "--trigger-stage",
                BG_STAGE,
                "--note-author",
                NOTE_AUTHOR,
                *flags,
            )
            self.manage(
                "tenants",
                "add-package",
                tenant.slug,
                "std-ca",
                "--name",
                "Standard Canada",
                "--lever-tag",
                "standard-ca",
                "--default",
            )
            for name, value in (
                ("lever-api-key", tenant.api_key),
                ("lever-signature-token", tenant.signature_token),
                ("backcheck-client-id", "rehearsal-client"),
                ("backcheck-client-secret", self.secrets["backcheck_client_secret"]),
            ):
                self.manage("tenants", "set-secret", tenant.slug, name, stdin=value + "\n")
            shown = self.manage("tenants", "show", tenant.slug).stdout
            match = re.search(r"https?://\S+/api/v1/webhooks/lever/\S+/", shown)
            if not match:
                raise Miss(f"tenants show {tenant.slug} printed no webhook URL")
            tenant.webhook_url = match.group(0)
            checked = self.manage("tenants", "check", tenant.slug, check=False)
            self.check(checked.returncode == 0, f"tenants check {tenant.slug} exits 0")
        self.manage(
            "createsuperuser",
            "--noinput",
            "--username",
            "operator",
            "--email",
            "op@example.test",
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": self.secrets["admin_password"]},
        )
        # The order API with an API token, as an operator's script would use it (the dashboard's
        # sign-in asks super-admins for a second factor).
        token = self.manage("api_token", "create", "operator", log_output=False).stdout.strip()
        self.secrets["api_token"] = token
        self.portal.headers["Authorization"] = f"Token {token}"

    # -- cases ------------------------------------------------------------------------------
    def candidate(self, tenant: Tenant, name: str, email: str | None) -> str:
        status, body = self.lever.post_json(
            "/_control/opportunities",
            {
                "api_key": tenant.api_key,
                "name": name,
                "emails": [email] if email else [],
                "tags": ["standard-ca"],
                "stage": "applicant-new",
            },
        )
        if status != 201:
            raise Miss(f"fake Lever refused candidate {name}: {status}")
        return body["id"]

    def move(self, tenant: Tenant, opp_id: str) -> None:
        status, _ = self.lever.post_json(
            "/_control/move",
            {
                "api_key": tenant.api_key,
                "opportunity_id": opp_id,
                "stage_id": BG_STAGE,
                "webhook_url": tenant.webhook_url,
                "async": True,
            },
        )
        if status != 202:
            raise Miss(f"fake Lever refused to move {opp_id}: {status}")

    def notes(self, opp_id: str) -> list[str]:
        status, body = self.lever.get_json(f"/_control/notes/{opp_id}")
        if status != 200:
            raise ValueError(f"notes of {opp_id}: {status}")
        notes = sorted(body["data"], key=lambda n: n.get("createdAt") or 0)
        return [n.get("value") or n.get("text") or "" for n in notes]

    @staticmethod
    def statuses(texts: list[str]) -> list[str]:
        found = []
        for text in texts:
            match = re.search(r"^Status: (.+)$", text, re.MULTILINE)
            found.append(match.group(1) if match else "?")
        return found

    def orders(self, client: Client | None = None) -> dict[str, dict]:
        client = client or self.portal
        found: dict[str, dict] = {}
        path = "/api/v1/orders/"
        while path:
            status, body = client.get_json(path)
            if status != 200:
                raise ValueError(f"order API answered {status}")
            for order in body["results"]:
                found[str(order["id"])] = order
            following = body.get("next")
            path = (
                urllib.parse.urlsplit(following)._replace(scheme="", netloc="").geturl()
                if following
                else ""
            )
        return found

    def wait_for_cases(self, cases: dict[str, Tenant], timeout: float) -> None:
        def done() -> bool:
            return all(
                self.statuses(self.notes(opp)) == EXPECTED_STATUSES[t.piecemeal]
                for opp, t in cases.items()
            )

        try:
            wait_until(f"{len(cases)} case(s) to their Completed note", done, timeout, every=1)
        except Miss:
            pass  # reported case by case below
        # A few more sweeps: a note posted twice would show up now.
        time.sleep(float(self.base_env["OUTBOX_SWEEP_INTERVAL_S"]) * 2)
        by_opp = {o["opportunity_id"]: o for o in self.orders().values()}
        for opp, tenant in cases.items():
            got = self.statuses(self.notes(opp))
            want = EXPECTED_STATUSES[tenant.piecemeal]
            order = by_opp.get(opp) or {}
            self.check(
                got == want and order.get("status") == "Completed",
                f"{tenant.slug} {opp[:8]}: order {order.get('status')!s}, notes {got}"
                + ("" if got == want else f" (want {want})"),
            )

    def standard_case(self) -> None:
        tenant = self.tenants[0]
        opp = self.candidate(tenant, "Ada Lovelace", "ada.lovelace@example.com")
        self.move(tenant, opp)
        self.wait_for_cases({opp: tenant}, 60)

    def no_email_case(self) -> None:
        tenant = self.tenants[1]
        opp = self.candidate(tenant, "Prince", None)
        self.move(tenant, opp)
        texts = wait_until("the no-email Error note", lambda: self.notes(opp), 60)
        time.sleep(float(self.base_env["OUTBOX_SWEEP_INTERVAL_S"]) * 2)
        texts = self.notes(opp)
        self.check(
            len(texts) == 1
            and self.statuses(texts) == ["Error"]
            and "no email address" in texts[0],
            f"no-email case: one Error note naming the fix ({len(texts)} note(s): "
            f"{self.statuses(texts)})",
        )

    def burst(self) -> None:
        cases: dict[str, Tenant] = {}
        for n in range(20):
            tenant = self.tenants[n % 2]
            opp = self.candidate(tenant, f"Burst Candidate{n:02d}", f"burst{n:02d}@example.com")
            cases[opp] = tenant
        for opp, tenant in cases.items():
            self.move(tenant, opp)
        # Kill a worker while it has work in hand: once the first cases got their New note.
        wait_until(
            "the burst's first notes",
            lambda: sum(bool(self.notes(opp)) for opp in cases) >= 3,
            60,
            every=0.2,
        )
        victim = self.workers[1]
        victim.signal(signal.SIGKILL)
        assert victim.popen is not None  # started with the stack
        victim.popen.wait(timeout=10)
        say(f"killed {victim.name} (SIGKILL to its process group) mid-burst")
        self.wait_for_cases(cases, 180)
        recovered = sum(
            sum(int(n) for n in re.findall(r"'\w+': (\d+)", line))
            for line in self.workers[0].log_path.read_text(errors="replace").splitlines()
            if "sweeper re-enqueued" in line
        )
        self.check(
            not victim.alive(),
            f"the killed worker stayed down; the other finished the work (the sweeper "
            f"re-enqueued {recovered} stuck row(s))",
        )
