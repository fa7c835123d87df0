"""Install steps: the production venv from requirements.txt alone, settings with fresh secrets,
the databases, `check --deploy`, migrate and collectstatic."""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import subprocess
import sys

from rehearsal.base import RehearsalBase
from rehearsal.clients import TlsProxyStandIn
from rehearsal.commands import MIGRATE_COMMAND
from rehearsal.support import ROOT, VENV, WORK, Miss, free_port

# `check --deploy` warnings accepted in production, each with its reason. Empty: any warning
# fails the rehearsal.
CHECK_DEPLOY_ALLOWED: dict[str, str] = {}


class Install(RehearsalBase):
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
