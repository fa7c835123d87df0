"""Run the portal's processes in the foreground for the local demo: web, worker, beat.

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


def processes() -> list[tuple[str, list[str]]]:
    celery = [PY, "-m", "celery", "-A", "integration_portal"]
    return [
        ("web", [PY, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"]),
        ("worker", [*celery, "worker", "-l", "INFO", "-c", "2", "-n", "demo@%h"]),
        ("beat", [*celery, "beat", "-l", "INFO"]),
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
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children: list[tuple[str, subprocess.Popen]] = []
    for name, cmd in processes():
        child = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=_pump, args=(name, child.stdout), daemon=True).start()
        children.append((name, child))

    stopping = threading.Event()

    def stop(*_args: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    base = f"http://{HOST}:{PORT}"
    if _wait_for_web(f"{base}/healthz"):
        print(f"\n  Portal running at {base}/  (Ctrl-C stops everything)\n", flush=True)
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
