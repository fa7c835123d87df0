"""The rehearsal's shared state and bookkeeping: processes started, checks passed or missed,
manage.py runs. The steps are in install.py, topology.py, cases.py and checks.py."""

from __future__ import annotations

import os
import subprocess
import urllib.parse

from rehearsal.clients import Client, TlsProxyStandIn
from rehearsal.processes import Proc
from rehearsal.support import LOGS, ROOT, VENV, Miss, say


class RehearsalBase:
    # Set by one step, read by later ones (install.py → topology.py → cases.py, checks.py).
    env: dict[str, str]
    base_env: dict[str, str]
    proxy: TlsProxyStandIn
    redis_port: int
    web_port: int
    lever_port: int
    backcheck_port: int
    portal: Client
    lever: Client
    web: Proc
    workers: list[Proc]

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

    def make_env(self, database: str) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.base_env)
        env["DATABASE_URL"] = f"{self.pg_base}/{database}"
        return env
