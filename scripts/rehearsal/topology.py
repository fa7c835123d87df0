"""The production topology as plain processes: redis, the fakes, gunicorn behind the proxy
stand-in, two workers and beat."""

from __future__ import annotations

from rehearsal.base import RehearsalBase
from rehearsal.clients import Client
from rehearsal.commands import BEAT_COMMAND, WEB_COMMAND, WORKER_COMMAND, fill
from rehearsal.support import WORK, Miss, wait_until


class Topology(RehearsalBase):
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

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for proxy in self.proxies:
            proxy.stop()
