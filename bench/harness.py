"""What every benchmark needs: its own database and Redis DB, gunicorn, a Celery worker, timing.

The benchmarks run the production pieces as processes (gunicorn with gunicorn.conf.py, Celery
workers, PostgreSQL, Redis) with the fakes on 127.0.0.1, in a database of their own
(`bench_portal`, dropped and migrated at start) and a Redis DB of their own (8 by default,
flushed at start; DB 0 is refused). They never touch the test databases.

Environment: BENCH_POSTGRES_URL (server, default postgres://postgres@127.0.0.1:5432),
BENCH_DB_NAME (bench_portal), BENCH_REDIS_URL (redis://127.0.0.1:6379/8).
"""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.harness import Proc, worker_argv
from tests.support.harness import free_port as free_port  # the benches call harness.free_port
from tests.support.harness import wait_until as _wait_until

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_portal")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
RESULTS_DIR = ROOT / "var" / "bench"
# Bench-only secrets: the processes run with DJANGO_DEBUG off, as in production.
_KEY = base64.urlsafe_b64encode(b"bench-only-field-key-0123456789a").decode().rstrip("=")


def bench_env(**extra: str) -> dict[str, str]:
    work = Path(tempfile.gettempdir()) / "portal-bench"
    work.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "PORTAL_ENV_FILE": os.devnull,
        "PORTAL_VAR_DIR": str(work),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEYS": f"bench-k1:{_KEY}",
        "CALLBACK_HMAC_KEY": "bench-only-callback-hmac-key-0123456789",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "METRICS_TOKEN": "bench-only-metrics-token-0123456789",
        # The fake Lever and Backcheck listen on 127.0.0.1 over plain http.
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        # Plain http on loopback: in production the TLS proxy sits in front (X-Forwarded-Proto).
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"{PG_SERVER}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def check_services() -> None:
    import psycopg
    import redis

    try:
        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        raise SystemExit(f"bench: PostgreSQL at {PG_SERVER} is unreachable ({exc})") from None
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"bench: Redis at {REDIS_URL} is unreachable ({exc})") from None


def prepare(**extra_env: str) -> dict[str, str]:
    """Fresh bench database and Redis DB, migrated; Django set up in this process. Returns env."""
    import psycopg
    import redis

    check_services()
    # A SIGTERM (make interrupted, CI timeout) unwinds the `with` blocks: children are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if REDIS_URL.rstrip("/").endswith("/0") or "/" not in REDIS_URL.split("//", 1)[1]:
        raise SystemExit("bench: BENCH_REDIS_URL must name a Redis DB other than 0")
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = bench_env(**extra_env)
    # Migrating takes ~10 s; a copy of an already migrated database takes well under one. The
    # template's name carries a digest of everything that shapes the schema, so a change to a
    # migration or to an installed package makes a new one (and the old ones are dropped).
    template = f"{DB_NAME}_tpl_{_schema_digest()}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        if found:
            conn.execute(f'CREATE DATABASE "{DB_NAME}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                cwd=ROOT,
                env=env,
                check=True,
            )
            stale = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                [f"{DB_NAME}_tpl_%"],
            ).fetchall()
            for (name,) in stale:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{DB_NAME}"')
    os.environ.update({k: v for k, v in env.items() if k not in ("LOG_LEVEL",)})
    os.environ["LOG_LEVEL"] = "WARNING"  # the bench process itself stays quiet
    import django

    django.setup()
    return env


def _schema_digest() -> str:
    """A digest of the project's migrations and of the installed packages' versions."""
    import hashlib
    from importlib import metadata

    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    versions = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()[:16]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """tests/support's wait, ending the bench (not raising an assertion) when it times out."""
    try:
        return _wait_until(predicate, timeout=timeout, interval=every, message=what)
    except AssertionError as exc:
        raise SystemExit(f"bench: {exc}") from None


class Process(Proc):
    """A bench child process in its own process group; its log, under RESULTS_DIR, is new each
    run (a "ready." left by an earlier run must not count)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        super().__init__(name, argv, env, RESULTS_DIR / f"{name}.log")
        self.log_path.write_bytes(b"")


def start_gunicorn(env: dict[str, str], port: int, **extra: str) -> Process:
    """gunicorn with the production config file (workers, threads) on 127.0.0.1:port."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "integration_portal.wsgi",
        "-c",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    # Several worker processes: metrics in multiprocess mode, as production should run them.
    prom = Path(tempfile.mkdtemp(prefix="portal-bench-prom-"))
    proc = Process("gunicorn", argv, {**env, "PROMETHEUS_MULTIPROC_DIR": str(prom), **extra})
    proc.start()

    def healthy() -> bool:
        if not proc.alive():
            raise SystemExit(f"bench: gunicorn exited; see {proc.log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:  # noqa: S310
                return r.status == 200
        except OSError:
            return False

    wait_until(healthy, 60, "gunicorn to answer /healthz", every=0.2)
    # Warm every worker process (imports, first connection) before anything is measured.
    for _ in range(40):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()  # noqa: S310
    return proc


def start_worker(env: dict[str, str], concurrency: int, name: str = "worker") -> Process:
    argv = worker_argv(concurrency, f"{name}-{os.getpid()}@%h")
    proc = Process(name, argv, env).start()

    def ready() -> bool:
        if not proc.alive():
            raise SystemExit(f"bench: the Celery worker exited; see {proc.log_path}")
        return b"ready." in proc.log_path.read_bytes()

    wait_until(ready, 90, "the Celery worker to be ready", every=0.2)
    return proc


def seed_pending_notes(
    fake: Any, api_key: str, tenant: Any, *, prefix: str, notes: int, per_order: int, first: int = 0
) -> tuple[list[Any], list[Any]]:
    """`notes` pending Lever notes of `tenant`, `per_order` to an order (queued in order, as a
    case's notes are), each order's opportunity known to the fake Lever under `api_key`: what a
    delivery bench hands the workers. Returns (orders, notes)."""
    from django.db import transaction

    from orders.models import LeverNote, Order

    with transaction.atomic():
        orders = Order.objects.bulk_create(
            [
                Order(
                    tenant=tenant,
                    opportunity_id=f"opp-{prefix}-{first + o}",
                    candidate_name="Bench Candidate",
                    package_code="std",
                    package_name="Standard",
                    callback_username=secrets.token_hex(12),
                    callback_password_hash="-",
                    status="In Progress",
                )
                for o in range(notes // per_order or min(notes, 1))
            ]
        )
        for order in orders:
            fake.add_opportunity(
                api_key,
                name="Bench Candidate",
                emails=["c@example.com"],
                opportunity_id=order.opportunity_id,
            )
        created = LeverNote.objects.bulk_create(
            [
                LeverNote(
                    tenant=tenant,
                    order=orders[i % len(orders)],
                    opportunity_id=orders[i % len(orders)].opportunity_id,
                    kind="order",
                    text=f"Sterling Backcheck background check\nStatus: In Progress\n#{first + i}",
                )
                for i in range(notes)
            ]
        )
    return orders, created


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of the values; nan when there are none."""
    data = sorted(values)
    if not data:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(data)))
    return data[rank - 1]


@dataclass
class Check:
    name: str
    value: float
    target: str
    ok: bool
    gating: bool = True  # False: reported only (e.g. timing targets in smoke mode)


@dataclass
class Report:
    title: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def row(self, name: str, value: float, unit: str, baseline: float | None = None) -> None:
        ratio = f"{value / baseline:.2f}" if baseline else ""
        base = f"{baseline:.2f}" if baseline is not None else ""
        self.rows.append((name, f"{value:.2f} {unit}", base, ratio))
        self.data[name] = value

    def check(self, name: str, value: float, target: str, ok: bool, gating: bool = True) -> None:
        self.checks.append(Check(name, value, target, bool(ok), gating))

    def print(self) -> None:
        width = max([len(r[0]) for r in self.rows] + [len(c.name) for c in self.checks] + [10])
        print(f"\n## {self.title}\n")
        print(f"| {'measure'.ljust(width)} | value | baseline | ratio |")
        print(f"|{'-' * (width + 2)}|---|---|---|")
        for name, value, base, ratio in self.rows:
            print(f"| {name.ljust(width)} | {value} | {base} | {ratio} |")
        if self.checks:
            print(f"\n| {'target'.ljust(width)} | value | wanted | result |")
            print(f"|{'-' * (width + 2)}|---|---|---|")
            for c in self.checks:
                verdict = "PASS" if c.ok else ("FAIL" if c.gating else "miss (not gating)")
                print(f"| {c.name.ljust(width)} | {c.value:.3g} | {c.target} | {verdict} |")
        sys.stdout.flush()

    def save(self, name: str, argv: list[str]) -> None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        payload = {
            "title": self.title,
            "command": " ".join(argv),
            "time": time.time(),
            "data": self.data,
            "checks": [c.__dict__ for c in self.checks],
        }
        (RESULTS_DIR / f"{name}.json").write_text(json.dumps(payload, indent=2))

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.gating and not c.ok]

    def finish(self, name: str, *, smoke: bool) -> int:
        """Print the tables, save the JSON, name the failed gates; the exit status."""
        self.print()
        self.save(name + ("_smoke" if smoke else ""), sys.argv)
        if self.failed:
            print(f"\nFAILED: {', '.join(c.name for c in self.failed)}")
            return 1
        return 0
