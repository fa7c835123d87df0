"""A web worker sets up the task publisher when it starts (gunicorn `post_worker_init`), so its
first webhook's publish does not pay for importing the broker client (docs/PERFORMANCE.md §8).
Run in a fresh interpreter: this test process has imported everything long ago."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)

SCRIPT = """
import sys, time
import django
django.setup()
from integration_portal.celery import warm_publisher
before = "kombu.transport.redis" in sys.modules
started = time.monotonic()
warm_publisher()
print(before, "kombu.transport.redis" in sys.modules, round(time.monotonic() - started, 3))
"""


def _run(broker_url: str) -> list[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_URL", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="integration_portal.test_settings",
        CELERY_BROKER_URL=broker_url,
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_warm_publisher_loads_the_broker_transport_before_any_request():
    before, after, _ = _run("redis://127.0.0.1:6379/15")
    assert (before, after) == ("False", "True")


def test_warm_publisher_does_not_wait_for_a_broker_that_is_down():
    # Port 9 (discard) has nothing listening: a connection attempt would fail or time out.
    before, after, seconds = _run("redis://127.0.0.1:9/15")
    assert after == "True"
    assert float(seconds) < 1.0
