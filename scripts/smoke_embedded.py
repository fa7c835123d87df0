"""Boot the portal exactly as `make run` does, on the embedded defaults, and check it works.

SQLite and kombu's filesystem broker, no Redis: the mode a new developer meets first, so CI
keeps it from rotting. Everything lives in a temporary folder; nothing in the checkout changes.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """Just enough of a browser for the smoke run: cookies, form posts, text answers (stdlib)."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(
        self, url: str, data: dict | None = None, headers: dict | None = None, timeout: float = 10
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def cookie(self, name: str) -> str | None:
        return next(c.value for c in self.cookies if c.name == name)


def wait_for(url: str, timeout_s: float) -> str:
    end = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < end:
        try:
            status, text = Browser().request(url, timeout=3)
            if status == 200:
                return text
            last = status
        except OSError as exc:
            last = type(exc).__name__
        time.sleep(0.5)
    raise SystemExit(f"smoke: {url} not ready after {timeout_s}s (last: {last})")


def main() -> int:
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(name):
            raise SystemExit(f"smoke: {name} is set; the smoke run is for the embedded defaults")
    tmp = Path(tempfile.mkdtemp(prefix="portal-smoke-"))
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_ENV_FILE": str(tmp / ".env"),
        "PORTAL_VAR_DIR": str(tmp / "var"),
        "PORTAL_PORT": str(port),
        "DEMO_LEVER_PORT": str(free_port()),
        "DEMO_BACKCHECK_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    run = lambda *cmd: subprocess.run(cmd, cwd=ROOT, env=env, check=True)  # noqa: E731
    started = time.monotonic()
    run(PY, "scripts/write_env.py")
    env_text = (tmp / ".env").read_text()
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    run(PY, "manage.py", "migrate", "--noinput", "-v", "0")
    run(PY, "manage.py", "collectstatic", "--noinput", "-v", "0")
    setup = subprocess.run(
        [PY, "manage.py", "demo_setup"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    print(setup.stdout, end="")
    found = re.search(r"DEMO_ADMIN_PASSWORD=(\S+)", env_text)
    assert found is not None, "scripts/write_env.py wrote no DEMO_ADMIN_PASSWORD"
    password = found.group(1)
    portal = subprocess.Popen(
        [PY, "scripts/run_portal.py"], cwd=ROOT, env=env, start_new_session=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        ready = json.loads(wait_for(f"{base}/readyz", 90))
        assert ready["database"] == "ok" and ready["broker"] == "ok", ready
        browser = Browser()
        status, text = browser.request(f"{base}/login/", timeout=5)
        assert status == 200 and "csrfmiddlewaretoken" in text
        status, text = browser.request(
            f"{base}/login/",
            data={
                "username": "admin",
                "password": password,
                "csrfmiddlewaretoken": browser.cookie("csrftoken"),
            },
            headers={"Referer": f"{base}/login/"},
        )
        assert status == 200 and "Log out" in text, status
        status, text = browser.request(f"{base}/tenants/")
        assert status == 200 and "Demo Employer" in text
        # The whole demo case on SQLite and the filesystem broker: webhook → order → callbacks
        # → notes on the fake Lever, to Completed.
        demo = subprocess.run(
            [PY, "manage.py", "demo", "--timeout", "75"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        print(demo.stdout[-3000:], demo.stderr[-3000:])
        assert demo.returncode == 0 and "is Completed" in demo.stdout, demo.returncode
        print(f"smoke: embedded defaults OK in {time.monotonic() - started:.1f}s")
        return 0
    finally:
        os.killpg(portal.pid, signal.SIGINT)
        try:
            portal.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(portal.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
