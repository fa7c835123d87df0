"""requirements.txt alone runs the portal: every third-party module that web, worker and beat
import at start-up comes from a distribution pinned there (not from a dev tool that happens to
be in the test venv). `make rehearse` is the real proof; this catches a missing pin in seconds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)

# The probe runs in a fresh interpreter of the test venv, where an import of a module whose
# distribution is not pinned in requirements.txt fails as it would in the production venv
# (optional imports, e.g. kombu's msgpack, are skipped by their importers as there). Then it loads
# what each process loads before its first request or task: the WSGI app with every URL's views,
# gunicorn's threaded worker and our gunicorn.conf.py, the Celery app with its tasks and the Redis
# transport (loaded, not connected), the worker's prefork pool and beat's scheduler.
START_UP = r"""
import importlib.abc, json, os, sys
from importlib.metadata import packages_distributions

ALLOWED = set(json.loads(os.environ["PROBE_ALLOWED"]))
OWNERS = packages_distributions()
norm = lambda n: n.lower().replace("_", "-").replace(".", "-")

class OnlyPinned(importlib.abc.MetaPathFinder):
    blocked = set()
    def find_spec(self, name, path=None, target=None):
        top = name.split(".", 1)[0]
        dists = {norm(d) for d in OWNERS.get(top, ())}
        if dists and not dists & ALLOWED:
            self.blocked.add(top)
            raise ModuleNotFoundError(f"No module named {name!r} (not in requirements.txt)")
        return None

finder = OnlyPinned()
sys.meta_path.insert(0, finder)
import django
django.setup()
from django.urls import get_resolver
import integration_portal.wsgi
get_resolver().url_patterns
import gunicorn.app.wsgiapp, gunicorn.workers.gthread, gunicorn.glogging
from integration_portal.celery import app
app.loader.import_default_modules()
app.connection_for_write().transport
import celery.apps.worker, celery.apps.beat, celery.beat, celery.concurrency.prefork
import celery.bin.celery
import runpy; runpy.run_path("gunicorn.conf.py")
print(json.dumps({"modules": sorted(sys.modules), "blocked": sorted(finder.blocked)}))
"""


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path: Path) -> set[str]:
    names = re.findall(r"^([A-Za-z0-9_.-]+)==", path.read_text(), re.MULTILINE)
    return {normalise(name) for name in names}


def start_up(allowed: set[str]) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "PROMETHEUS_MULTIPROC_DIR"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="integration_portal.settings",
        PORTAL_ENV_FILE=os.devnull,
        # A Redis broker (nothing listens there: loading the transport needs no connection).
        CELERY_BROKER_URL="redis://127.0.0.1:9/0",
        REDIS_URL="redis://127.0.0.1:9/0",
        PROBE_ALLOWED=json.dumps(sorted(allowed)),
    )
    return subprocess.run(
        [sys.executable, "-c", START_UP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_web_worker_and_beat_start_with_only_what_requirements_txt_pins():
    proc = start_up(pinned(ROOT / "requirements.txt"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    # The probe really loaded what the worker needs of Redis, and what the web serves with.
    assert {"kombu.transport.redis", "redis", "whitenoise", "psycopg"} <= set(seen["modules"])


def test_the_probe_notices_a_missing_pin():
    # kombu's Redis transport imports `packaging`: without that pin the worker cannot start.
    proc = start_up(pinned(ROOT / "requirements.txt") - {"packaging"})
    assert proc.returncode != 0 and "packaging" in proc.stderr


def test_requirements_txt_is_a_hashed_lock_generated_from_requirements_in():
    text = (ROOT / "requirements.txt").read_text()
    entries = re.findall(
        r"^([A-Za-z0-9_.-]+)==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)", text, re.M
    )
    requirement_lines = re.findall(r"^[A-Za-z0-9_.-]+==", text, re.MULTILINE)
    assert entries and len(entries) == len(requirement_lines), "every pin carries its hashes"
    assert "pip-compile" in text and "requirements.in" in text
    direct = re.findall(r"^([A-Za-z0-9_.-]+)", (ROOT / "requirements.in").read_text(), re.M)
    assert {normalise(name) for name in direct} <= pinned(ROOT / "requirements.txt")
    # The dev lock pins the runtime packages at the same versions (it is compiled against it).
    runtime = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE))
    dev = dict(
        re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements-dev.txt").read_text(), re.M)
    )
    assert {name: dev.get(name) for name in runtime} == runtime
