"""Fault-injection harness: the whole portal as separate processes, on services we can break.

Builds on the process harness (tests/support/harness.py, tests/support/wired.py) and adds what a
fault test needs and the shared services must never suffer:

- `ThrowawayRedis`: a private `redis-server` on a random port, used as THE broker, cache and
  limiter of the processes a test starts; the test stops and restarts it at will.
- `PgProxy`: a TCP proxy in front of PostgreSQL that the test can cut (existing connections
  reset, new ones refused) or black-hole (connections accepted, never answered).
- `Stack`: a gunicorn portal, Celery workers and a Celery beat, each a subprocess with its own
  environment (lease, sweep interval, back-off shrunk exactly as an operator would set them).

The pytest process itself never publishes a task: anything it enqueued would land on the shared
broker, where the end-to-end worker would pick it up.
"""

from __future__ import annotations

import os
import secrets
import select
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests
from django.db import connection

from tests.support.harness import Proc, free_port, wait_until, worker_argv, worker_env
from tests.support.wired import Wired, wire_tenant

# The shrunk knobs every process of a stack gets unless a test overrides them. The lease stays
# above the HTTP read timeout, as it must in production (300 s vs 20 s): a worker still waiting on
# Lever must never see its note handed to another worker.
FAST_ENV = {
    "OUTBOX_LEASE_S": "5",
    "OUTBOX_SWEEP_INTERVAL_S": "1",
    "NOTE_RETRY_BASE_S": "0.2",
    "NOTE_RETRY_MAX_S": "1.0",
    "NOTE_MAX_ATTEMPTS": "10",
    "RECONCILE_AFTER_S": "3600",
    "HTTP_READ_TIMEOUT_S": "3",
    "LOG_LEVEL": "INFO",
}


APP_NAME = "portal-reliability-stack"


class ThrowawayRedis:
    """A private redis-server: nothing else uses it, so stopping it disturbs no other test."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.ping, timeout=10, interval=0.05, message="the throwaway redis-server")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2)


class PgProxy:
    """127.0.0.1:<port> → PostgreSQL. `cut()` resets every connection and refuses new ones;
    `blackhole()` accepts connections and never answers; `restore()` forwards again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "forward"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="pg-proxy").start()

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "cut":
                _reset(client)
                continue
            with self._lock:
                self._conns.add(client)
            if self.mode == "blackhole":
                continue  # held open, never answered: the client's connect_timeout must fire
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._conns.add(upstream)
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except OSError:
            pass
        finally:
            for sock in (a, b):
                _reset(sock)
                with self._lock:
                    self._conns.discard(sock)

    def cut(self) -> None:
        self.mode = "cut"
        self._drop_all()

    def blackhole(self) -> None:
        self.mode = "blackhole"
        self._drop_all()

    def restore(self) -> None:
        self._drop_all()  # connections held by the black hole are useless now
        self.mode = "forward"

    def _drop_all(self) -> None:
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for sock in conns:
            _reset(sock)

    def close(self) -> None:
        self._stop.set()
        self._drop_all()
        self._listener.close()


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    except OSError:
        pass


@dataclass
class Stack:
    """The portal's processes for one test, sharing one throwaway Redis and the test database."""

    workdir: Path
    redis: ThrowawayRedis
    proxy: PgProxy
    env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    portal_url: str = ""
    _count: int = 0

    def base_env(self, *, via_proxy: bool = False, **extra: str) -> dict[str, str]:
        env = worker_env(
            self.portal_url or "http://127.0.0.1:1",
            **{
                "REDIS_URL": self.redis.url,
                "CELERY_BROKER_URL": self.redis.url,
                **FAST_ENV,
                **self.env,
            },
        )
        db = connection.settings_dict
        host, port = (
            ("127.0.0.1", self.proxy.port)
            if via_proxy
            else (db["HOST"] or "127.0.0.1", db["PORT"] or 5432)
        )
        # Named, so teardown can end exactly these sessions and never another test's.
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}?application_name={APP_NAME}"
        )
        env.update(extra)
        return env

    def _name(self, kind: str) -> Path:
        self._count += 1
        return self.workdir / f"{kind}-{self._count}.log"

    def up(
        self,
        *,
        workers: int = 1,
        concurrency: int = 2,
        beat: bool = True,
        portal_env: dict[str, str] | None = None,
    ) -> None:
        """Start the portal, `workers` workers and beat side by side (start-up is most of a
        fault test's fixed cost), then wait until every one of them is ready."""
        portal = self.launch_portal(**(portal_env or {}))
        started = [self.launch_worker(concurrency) for _ in range(workers)]
        if beat:
            started.append(self.launch_beat())
        for proc in started:
            proc.wait_ready()
        portal.wait_ready()

    def launch_portal(self, **extra: str) -> Proc:
        port = free_port()
        self.portal_url = f"http://127.0.0.1:{port}"
        env = self.base_env(via_proxy=True, PUBLIC_BASE_URL=self.portal_url, **extra)
        proc = Proc(
            "portal",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "integration_portal.wsgi",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "8",
                "--timeout",
                "30",
                "--graceful-timeout",
                "2",
            ],
            env,
            self._name("portal"),
        ).start()
        proc.ready_check = self._healthy
        self.procs.append(proc)
        return proc

    def _healthy(self) -> bool:
        try:
            return requests.get(self.portal_url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def launch_worker(self, concurrency: int = 2, **extra: str) -> Proc:
        name = f"rel-{os.getpid()}-{secrets.token_hex(3)}@%h"
        proc = Proc(
            "worker",
            worker_argv(concurrency, name),
            self.base_env(PUBLIC_BASE_URL=self.portal_url, **extra),
            self._name("worker"),
        )
        proc.start(ready=b"ready.", wait=False)
        self.procs.append(proc)
        return proc

    def start_worker(self, concurrency: int = 2, **extra: str) -> Proc:
        proc = self.launch_worker(concurrency, **extra)
        proc.wait_ready()
        return proc

    def launch_beat(self, **extra: str) -> Proc:
        schedule = self.workdir / f"beat-{secrets.token_hex(3)}"
        proc = Proc(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "integration_portal",
                "beat",
                "-l",
                "INFO",
                "-s",
                str(schedule),
                "--pidfile=",
            ],
            self.base_env(PUBLIC_BASE_URL=self.portal_url, **extra),
            self._name("beat"),
        )
        proc.start(ready=b"beat: Starting", wait=False)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.output() for p in self.procs)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def wire_stack_tenant(
    stack: Stack,
    lever,
    backcheck,
    *,
    candidates: int = 0,
    piecemeal: bool = False,
    cma: bool = False,
    slug: str | None = None,
    **fields,
) -> Wired:
    """A tenant on `lever`/`backcheck` with its own Lever account and `candidates` extra
    opportunities (named c0, c1, …; tagged for the default package)."""
    wired = wire_tenant(
        lever,
        backcheck,
        stack.portal_url,
        key_prefix="rel-lever-key-",
        name=f"Rel {slug or ''}".strip(),
        slug=slug or "rel-" + secrets.token_hex(3),
        piecemeal=piecemeal,
        cma=cma,
        **fields,
    )
    api_key = wired.api_key
    wired.extra = [
        lever.add_opportunity(
            api_key,
            name=f"Candidate {i} Test",
            emails=[f"c{i}@example.com"],
            tags=["standard-ca"],
            stage="applicant-new",
        )
        for i in range(candidates)
    ]
    return wired
