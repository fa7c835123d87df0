"""One process of the rehearsed topology: started in its own session, logged to a file, stopped
with SIGTERM then SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.support import LOGS, ROOT


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    stdin_text: str | None = None
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def start(self) -> Proc:
        self.log_path = LOGS / f"{self.name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child holds it; closed on exit)
        self.popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE if self.stdin_text else subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if self.stdin_text:
            assert self.popen.stdin is not None  # stdin=PIPE above
            self.popen.stdin.write(self.stdin_text.encode())
            self.popen.stdin.close()
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 20) -> None:
        if self.popen is None:
            return  # never started
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout=10)
