"""Run the portal's processes in the foreground for the local demo: web, worker, beat, and the
fake Lever and fake Backcheck servers the demo tenant talks to.

Each child's output is prefixed with its name; Ctrl-C (or any child dying) stops them all.
Production runs the same processes under gunicorn and a supervisor (see docker-compose.yml).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("PORTAL_HOST", "127.0.0.1")
PORT = os.environ.get("PORTAL_PORT", "8000")


def read_env_file() -> dict[str, str]:
    """The same `.env` Django reads: the fakes need the demo credentials it holds."""
    path = Path(os.environ.get("PORTAL_ENV_FILE", ROOT / ".env"))
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.lstrip().startswith("#"):
                values[name.strip()] = value.strip()
    return values


def processes() -> list[tuple[str, list[str], str | None]]:
    """(name, command, text for its stdin). The fakes read the demo credentials from stdin."""
    celery = [PY, "-m", "celery", "-A", "integration_portal"]
    lever_port = os.environ.get("DEMO_LEVER_PORT", "8101")
    backcheck_port = os.environ.get("DEMO_BACKCHECK_PORT", "8102")
    demo_credentials = "{}\n{}\n".format(
        os.environ.get("DEMO_LEVER_API_KEY", ""), os.environ.get("DEMO_SIGNATURE_TOKEN", "")
    )
    return [
        ("web", [PY, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"], None),
        ("worker", [*celery, "worker", "-l", "INFO", "-c", "2", "-n", "demo@%h"], None),
        ("beat", [*celery, "beat", "-l", "INFO"], None),
        (
            "lever",
            [
                PY,
                "-m",
                "connectors.lever.fake",
                "--port",
                lever_port,
                "--seed-demo",
                "-",
                "-",
            ],
            demo_credentials,
        ),
        (
            "backchk",
            [
                PY,
                "-m",
                "connectors.backcheck.fake",
                "--port",
                backcheck_port,
                "--packages",
                "std-ca:Standard Canada,exec-ca:Executive Canada",
                "--auto-script",
                "--step-seconds",
                "4",
                "--callback-retry-seconds",
                "20",
            ],
            None,
        ),
    ]


def _pump(name: str, stream) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:>8} | {line}")
        sys.stdout.flush()


def _wait_for_web(url: str, deadline_s: float = 60) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                return response.status == 200
        except OSError:
            time.sleep(0.5)
    return False


def main() -> int:
    os.environ.update({k: v for k, v in read_env_file().items() if k not in os.environ})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children: list[tuple[str, subprocess.Popen]] = []
    for name, cmd, stdin_text in processes():
        child = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE if stdin_text else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        if stdin_text:
            assert child.stdin is not None  # stdin=PIPE above
            child.stdin.write(stdin_text)
            child.stdin.close()
        threading.Thread(target=_pump, args=(name, child.stdout), daemon=True).start()
        children.append((name, child))

    stopping = threading.Event()

    def stop(*_args: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    base = f"http://{HOST}:{PORT}"
    if _wait_for_web(f"{base}/healthz"):
        print(
            f"\n  Portal running at {base}/  (Ctrl-C stops everything)\n"
            "  Play a whole case: .venv/bin/python manage.py demo   (in another terminal)\n",
            flush=True,
        )
    exit_code = 0
    while not stopping.is_set():
        for name, child in children:
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping.", flush=True)
                exit_code = child.returncode or 1
                stopping.set()
        stopping.wait(0.5)
    for _name, child in children:
        if child.poll() is None:
            child.terminate()  # the worker's warm shutdown finishes its current task
    for _name, child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
