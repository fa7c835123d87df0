"""Rehearse the production install and topology as plain processes, and check it works.

    make rehearse        # or: .venv/bin/python scripts/rehearse.py

What an operator does (README "Production set-up"; docker-compose.yml runs the same commands),
here on this machine's PostgreSQL and a private redis-server, with no container engine:

1. a virtualenv built from requirements.txt alone (the hashed lock; no test or lint tools);
2. `DJANGO_DEBUG=false` with freshly generated secrets; `manage.py check --deploy` (any warning
   not in CHECK_DEPLOY_ALLOWED fails the run); `migrate`; `collectstatic`;
3. gunicorn with gunicorn.conf.py (2 processes), two separate Celery worker processes started
   with the worker command, one beat, and the fake Lever and fake Backcheck as processes;
4. two tenants set up with `manage.py tenants …` (secrets on stdin), then: the standard case to
   Completed, the no-email case to its Error note, and a 20-candidate burst across both tenants
   during which one worker is killed with SIGKILL;
5. checks: every case in its final state with each Lever note exactly once and in order, no 429
   from the fake Lever, no secret in any portal process's log; then a `pg_dump` restored into a
   fresh database, served by a second gunicorn, shows the same cases.

It stops everything it started and exits non-zero on any miss, printing what missed.

Deviations from production, and why (nothing else differs):
- OUTBOX_LEASE_S=30 and OUTBOX_SWEEP_INTERVAL_S=5: the sweeper recovers the killed worker's
  claims within the run instead of after five minutes.
- OUTBOUND_ALLOW_PRIVATE_NETWORKS=true: the fakes live on 127.0.0.1 and speak plain http.
- A small local stand-in for the TLS proxy in front of gunicorn adds `X-Forwarded-Proto: https`
  (as the real proxy does), so the fakes' webhooks and callbacks are not redirected to https.
- Each worker gets its own node name (`-n rehearse-N@%h`): two workers on one host must not
  share one, as two containers never do (each has its own host name).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("REHEARSAL_DIR", ROOT / "var" / "rehearse"))
VENV = WORK / "venv"
LOGS = WORK / "logs"

# The production commands, exactly as docker-compose.yml runs them (tests/test_compose.py
# compares the two). `${NAME:-default}` is filled from the environment, as compose does.
MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
WEB_COMMAND = ["gunicorn", "integration_portal.wsgi", "-c", "gunicorn.conf.py"]
WORKER_COMMAND = [
    "celery",
    "-A",
    "integration_portal",
    "worker",
    "-l",
    "INFO",
    "--concurrency",
    "${WORKER_CONCURRENCY:-4}",
]
BEAT_COMMAND = [
    "celery",
    "-A",
    "integration_portal",
    "beat",
    "-l",
    "INFO",
    "--schedule",
    "/app/var/celerybeat-schedule",
]

# `check --deploy` warnings accepted in production, each with its reason. Empty: any warning
# fails the rehearsal.
CHECK_DEPLOY_ALLOWED: dict[str, str] = {}

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


def fill(argv: list[str], env: dict[str, str], var_dir: Path) -> list[str]:
    """A compose command as this machine runs it: ${VAR:-default} filled, /app/var → var_dir."""

    def one(arg: str) -> str:
        arg = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), arg)
        return arg.replace("/app/var", str(var_dir))

    return [one(arg) for arg in argv]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    print(f"rehearse [{time.monotonic() - STARTED:6.1f}s] {text}", flush=True)


STARTED = time.monotonic()


class Miss(Exception):
    """A check of the rehearsal failed."""


def wait_until(what: str, predicate: Callable[[], object], timeout: float, every=0.5) -> object:
    end = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < end:
        try:
            last = predicate()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if last:
                return last
        time.sleep(every)
    raise Miss(f"{what}: not reached within {timeout:.0f}s (last: {str(last)[:300]})")


# --- HTTP ------------------------------------------------------------------------------------


class Client:
    """Plain http to 127.0.0.1, JSON in and out (standard library only)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.parts = urllib.parse.urlsplit(base)
        self.headers = headers or {}

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        host = self.parts.hostname
        assert host is not None, self.base  # every base here is http://127.0.0.1:PORT
        conn = http.client.HTTPConnection(host, self.parts.port, timeout=15)
        sent = {**self.headers, **(headers or {})}
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()

    def get_json(self, path: str) -> tuple[int, Any]:
        status, _, data = self.request("GET", path, headers={"Accept": "application/json"})
        return status, json.loads(data or b"null")

    def post_json(self, path: str, payload: object) -> tuple[int, Any]:
        status, _, data = self.request(
            "POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        return status, json.loads(data or b"null")


class TlsProxyStandIn:
    """Stands in for the TLS-terminating proxy: forwards to gunicorn and adds the headers the
    real proxy adds (X-Forwarded-Proto: https, X-Forwarded-For). Plain http, 127.0.0.1 only."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # the portal logs each request
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                headers["X-Forwarded-Proto"] = "https"
                headers["X-Forwarded-For"] = self.client_address[0]
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                except OSError:
                    self.send_error(502)
                    return
                finally:
                    upstream.close()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- processes -------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    stdin_text: str | None = None
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def start(self) -> Proc:
        self.log_path = LOGS / f"{self.name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child holds it; closed on exit)
        self.popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE if self.stdin_text else subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if self.stdin_text:
            assert self.popen.stdin is not None  # stdin=PIPE above
            self.popen.stdin.write(self.stdin_text.encode())
            self.popen.stdin.close()
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 20) -> None:
        if self.popen is None:
            return  # never started
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout=10)


@dataclass
class Tenant:
    slug: str
    piecemeal: bool
    api_key: str = field(default_factory=lambda: "lk_" + secrets.token_urlsafe(24))
    signature_token: str = field(default_factory=lambda: "st_" + secrets.token_urlsafe(24))
    webhook_url: str = ""


class Rehearsal:
    def __init__(self) -> None:
        self.procs: list[Proc] = []
        self.proxies: list[TlsProxyStandIn] = []
        self.misses: list[str] = []
        self.checked: list[str] = []
        self.secrets: dict[str, str] = {}
        pg = urllib.parse.urlsplit(
            os.environ.get("REHEARSAL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/")
        )
        self.pg_args = ["-h", pg.hostname or "127.0.0.1", "-p", str(pg.port or 5432)]
        self.pg_args += ["-U", pg.username or "postgres"]
        self.pg_base = f"{pg.scheme}://{pg.netloc}"
        self.database = "rehearsal_portal"
        self.restored = "rehearsal_restored"

    # -- bookkeeping --------------------------------------------------------------------------
    def check(self, ok: bool, what: str) -> None:
        (self.checked if ok else self.misses).append(what)
        say(("ok   " if ok else "MISS ") + what)

    def python(self) -> str:
        return str(VENV / "bin" / "python")

    def manage(
        self,
        *args: str,
        stdin: str | None = None,
        env: dict | None = None,
        check: bool = True,
        log_output: bool = True,
    ):
        proc = subprocess.run(
            [self.python(), "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
        )
        with open(LOGS / "manage.log", "a") as log:
            shown = proc.stdout if log_output else "(output not logged: it is a secret)\n"
            log.write(f"$ manage.py {' '.join(args)}\n{shown}{proc.stderr}\n")
        if check and proc.returncode != 0:
            raise Miss(f"manage.py {args[0]} exited {proc.returncode}: {proc.stderr[-800:]}")
        return proc

    def start(self, name: str, argv: list[str], env: dict | None = None, stdin=None) -> Proc:
        proc = Proc(name, argv, env or self.env, stdin).start()
        self.procs.append(proc)
        return proc

    # -- steps ----------------------------------------------------------------------------------
    def build_venv(self) -> None:
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [self.python(), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        install = subprocess.run(
            [*pip, "--require-hashes", "-r", "requirements.txt"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            raise Miss(f"pip install -r requirements.txt failed: {install.stderr[-1500:]}")
        frozen = subprocess.run(
            [self.python(), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
        ).stdout
        dev_tools = [t for t in ("pytest", "ruff", "playwright") if f"\n{t}==" in f"\n{frozen}"]
        self.check(
            not dev_tools,
            f"production venv from requirements.txt alone: {len(frozen.splitlines())} packages, "
            f"no dev tools{' (found ' + ', '.join(dev_tools) + ')' if dev_tools else ''}",
        )

    def make_env(self, database: str) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.base_env)
        env["DATABASE_URL"] = f"{self.pg_base}/{database}"
        return env

    def settings_env(self) -> None:
        field_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        self.secrets.update(
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            FIELD_ENCRYPTION_KEYS_key=field_key,
            CALLBACK_HMAC_KEY=secrets.token_urlsafe(32),
            METRICS_TOKEN=secrets.token_urlsafe(24),
            admin_password=secrets.token_urlsafe(18),
        )
        self.redis_port, self.web_port = free_port(), free_port()
        self.lever_port, self.backcheck_port = free_port(), free_port()
        self.proxy = TlsProxyStandIn(self.web_port)
        self.proxies.append(self.proxy)
        self.base_env = {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": self.secrets["DJANGO_SECRET_KEY"],
            "FIELD_ENCRYPTION_KEYS": f"r1:{field_key}",
            "CALLBACK_HMAC_KEY": self.secrets["CALLBACK_HMAC_KEY"],
            "METRICS_TOKEN": self.secrets["METRICS_TOKEN"],
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.proxy.port}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "PORTAL_ENV_FILE": os.devnull,
            "PORTAL_VAR_DIR": str(WORK / "var"),
            "PORT": str(self.web_port),
            "WEB_CONCURRENCY": "2",
            "WORKER_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(WORK / "metrics"),
            "PYTHONUNBUFFERED": "1",
            # The deviations (module docstring).
            "OUTBOX_LEASE_S": "30",
            "OUTBOX_SWEEP_INTERVAL_S": "5",
            "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        }
        self.env = self.make_env(self.database)
        self.secrets["backcheck_client_secret"] = "bc_" + secrets.token_urlsafe(24)

    def databases(self) -> None:
        for name in (self.database, self.restored):
            subprocess.run(["dropdb", *self.pg_args, "--if-exists", name], check=True)
        subprocess.run(["createdb", *self.pg_args, self.database], check=True)

    def deploy_checks(self) -> None:
        proc = self.manage("check", "--deploy", check=False)
        found = set(re.findall(r"\(([a-z_]+\.[WE]\d+)\)", proc.stdout + proc.stderr))
        unexpected = sorted(found - set(CHECK_DEPLOY_ALLOWED))
        self.check(
            proc.returncode == 0 and not unexpected,
            "manage.py check --deploy: "
            + (f"unexpected {', '.join(unexpected)}" if unexpected else "no unlisted warning")
            + (f" (exit {proc.returncode}: {proc.stderr[-300:]})" if proc.returncode else ""),
        )
        self.manage(*MIGRATE_COMMAND[2:])
        self.manage("collectstatic", "--noinput", "-v", "0")
        manifest = WORK / "var" / "static" / "staticfiles.json"
        self.check(manifest.is_file(), "collectstatic wrote hashed names (staticfiles.json)")

    def start_topology(self) -> None:
        redis_dir = WORK / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        self.start(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(redis_dir)],
        )
        py = self.python()
        self.start("lever", [py, "-m", "connectors.lever.fake", "--port", str(self.lever_port)])
        self.start(
            "backcheck",
            [py, "-m", "connectors.backcheck.fake", "--port", str(self.backcheck_port)]
            + ["--client-id", "rehearsal-client", "--packages", "std-ca:Standard Canada"]
            + ["--auto-script", "--step-seconds", "1", "--callback-retry-seconds", "5"]
            + ["--client-secret", self.secrets["backcheck_client_secret"]],
        )
        var = WORK / "var"
        self.web = self.start("web", fill(WEB_COMMAND, self.env, var))
        self.workers = [
            self.start(
                f"worker{n}", fill(WORKER_COMMAND, self.env, var) + ["-n", f"rehearse-{n}@%h"]
            )
            for n in (1, 2)
        ]
        self.start("beat", fill(BEAT_COMMAND, self.env, var))
        self.portal = Client(f"http://127.0.0.1:{self.proxy.port}")
        self.lever = Client(f"http://127.0.0.1:{self.lever_port}")

        def ready() -> bool:
            for proc in self.procs:
                if not proc.alive():
                    returncode = proc.popen.returncode if proc.popen is not None else None
                    raise Miss(f"{proc.name} exited with {returncode} at start")
            status, body = self.portal.get_json("/readyz")
            return status == 200 and body

        body = wait_until("the portal's /readyz through the proxy", ready, 90)
        self.check(True, f"topology up: gunicorn (2), 2 workers, beat, fakes; /readyz {body}")
        status, _, _ = Client(f"http://127.0.0.1:{self.web_port}").request("GET", "/login/")
        self.check(status == 301, f"plain http without the proxy is redirected to https ({status})")

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

    # -- global checks ----------------------------------------------------------------------
    def no_429(self) -> None:
        status, body = self.lever.get_json("/_control/requests")
        # The portal's calls only (this script's own /_control/ polling is logged there too).
        requests = [
            r for r in (body["data"] if status == 200 else []) if r["path"].startswith("/v1/")
        ]
        codes = [r.get("status") for r in requests]
        kinds: dict[str, int] = {}
        for r in requests:
            path = re.sub(r"/[0-9a-f-]{36}", "/{id}", r["path"].split("?")[0])
            kinds[f"{r['method']} {path}"] = kinds.get(f"{r['method']} {path}", 0) + 1
        top = ", ".join(f"{n} × {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:4])
        self.check(
            status == 200 and 429 not in codes,
            f"fake Lever answered {len(codes)} API requests, {codes.count(429)} × 429 ({top})",
        )

    def no_secret_in_logs(self) -> None:
        portal_logs = [
            p.log_path
            for p in self.procs
            if p.name in ("web", "beat") or p.name.startswith("worker")
        ]
        portal_logs.append(LOGS / "manage.log")
        leaks = []
        for path in portal_logs:
            text = path.read_text(errors="replace") if path.exists() else ""
            for label, value in self.secrets.items():
                if value and value in text:
                    leaks.append(f"{label} in {path.name}")
        lines = sum(
            len(p.read_text(errors="replace").splitlines()) for p in portal_logs if p.exists()
        )
        self.check(
            not leaks,
            f"no secret in {len(portal_logs)} portal logs ({lines} lines, {len(self.secrets)} secrets)"
            + (f": {', '.join(leaks)}" if leaks else ""),
        )

    def backup_and_restore(self) -> None:
        dump = WORK / "portal.dump"
        subprocess.run(
            ["pg_dump", *self.pg_args, "-Fc", "-f", str(dump), self.database], check=True
        )
        subprocess.run(["createdb", *self.pg_args, self.restored], check=True)
        subprocess.run(
            ["pg_restore", *self.pg_args, "--no-owner", "-d", self.restored, str(dump)], check=True
        )
        env = self.make_env(self.restored)
        port = free_port()
        env["PORT"] = str(port)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(WORK / "metrics-restored")
        restored_web = self.start("web-restored", fill(WEB_COMMAND, env, WORK / "var"), env=env)
        proxy = TlsProxyStandIn(port)
        self.proxies.append(proxy)
        client = Client(f"http://127.0.0.1:{proxy.port}", headers=dict(self.portal.headers))
        wait_until(
            "the restored portal's /readyz", lambda: client.get_json("/readyz")[0] == 200, 60
        )
        keys = ("id", "status", "score", "order_number", "opportunity_id")
        before = {k: tuple(o.get(f) for f in keys) for k, o in self.orders().items()}
        after = {k: tuple(o.get(f) for f in keys) for k, o in self.orders(client).items()}
        self.check(
            before == after and len(before) >= 21,
            f"pg_dump restored into a fresh database: the restored portal serves the same "
            f"{len(after)} cases (original {len(before)})",
        )
        restored_web.stop()

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for proxy in self.proxies:
            proxy.stop()

    def run(self) -> int:
        shutil.rmtree(WORK, ignore_errors=True)
        LOGS.mkdir(parents=True)
        (WORK / "metrics").mkdir()
        (WORK / "metrics-restored").mkdir()
        try:
            say("building the production venv from requirements.txt alone")
            self.build_venv()
            self.settings_env()
            self.databases()
            self.deploy_checks()
            self.start_topology()
            self.setup_tenants()
            say("standard case")
            self.standard_case()
            say("no-email case")
            self.no_email_case()
            say("20-candidate burst across two tenants, one worker killed")
            self.burst()
            self.no_429()
            self.no_secret_in_logs()
            say("backup and restore")
            self.backup_and_restore()
        except Miss as exc:
            self.misses.append(str(exc))
            say(f"MISS {exc}")
        finally:
            self.stop_all()
        took = time.monotonic() - STARTED
        if self.misses:
            print(f"\nrehearsal FAILED in {took:.0f}s; logs in {LOGS}:", file=sys.stderr)
            for miss in self.misses:
                print(f"  - {miss}", file=sys.stderr)
            return 1
        for name in (self.database, self.restored):
            subprocess.run(["dropdb", *self.pg_args, "--if-exists", name], check=False)
        print(f"\nrehearsal passed in {took:.0f}s: {len(self.checked)} checks")
        return 0


if __name__ == "__main__":
    sys.exit(Rehearsal().run())
