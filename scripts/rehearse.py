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

import shutil
import subprocess
import sys
import time

from rehearsal.checks import Checks
from rehearsal.install import Install
from rehearsal.support import LOGS, STARTED, WORK, Miss, say
from rehearsal.topology import Topology


class Rehearsal(Install, Topology, Checks):
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
