"""bandit over the portal's code finds nothing beyond the reviewed baseline (each baseline finding
is explained in docs/RELIABILITY.md). Offline, so it runs in CI; pip-audit needs PyPI's
vulnerability service and runs from `make audit` only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.support.services import service_unavailable

ROOT = Path(settings.BASE_DIR)
BASELINE = ROOT / "tests/security/bandit-baseline.json"


def test_bandit_finds_nothing_new_over_the_reviewed_baseline():
    bandit = Path(sys.executable).with_name("bandit")
    if not bandit.exists() and not shutil.which("bandit"):
        service_unavailable("bandit is not installed (requirements-dev.txt)")
    proc = subprocess.run(
        [
            str(bandit if bandit.exists() else "bandit"),
            "-q",
            "-r",
            "integration_portal",
            "connectors",
            "orders",
            "-x",
            "*/tests/*,*/migrations/*",
            "-b",
            str(BASELINE),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
