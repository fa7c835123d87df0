"""Checks over the whole run: no 429 from Lever, no secret in any portal log, and a backup
restored into a fresh database serving the same cases."""

from __future__ import annotations

import re
import subprocess

from rehearsal.cases import Cases
from rehearsal.clients import Client, TlsProxyStandIn
from rehearsal.commands import WEB_COMMAND, fill
from rehearsal.support import LOGS, WORK, free_port, wait_until


class Checks(Cases):
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
