"""Where the rehearsal works, how it reports progress, and how it waits."""

from __future__ import annotations

import http.client
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("REHEARSAL_DIR", ROOT / "var" / "rehearse"))
VENV = WORK / "venv"
LOGS = WORK / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    print(f"rehearse [{time.monotonic() - STARTED:6.1f}s] {text}", flush=True)


STARTED = time.monotonic()


class Miss(Exception):
    """A check of the rehearsal failed."""


def wait_until(what: str, predicate: Callable[[], object], timeout: float, every=0.5) -> object:
    end = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < end:
        try:
            last = predicate()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if last:
                return last
        time.sleep(every)
    raise Miss(f"{what}: not reached within {timeout:.0f}s (last: {str(last)[:300]})")
