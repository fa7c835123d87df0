"""The production commands, as docker-compose.yml runs them, and how this machine fills them in."""

from __future__ import annotations

import re
from pathlib import Path

# The production commands, exactly as docker-compose.yml runs them (tests/test_compose.py
# compares the two). `${NAME:-default}` is filled from the environment, as compose does.
MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
WEB_COMMAND = ["gunicorn", "integration_portal.wsgi", "-c", "gunicorn.conf.py"]
WORKER_COMMAND = [
    "celery",
    "-A",
    "integration_portal",
    "worker",
    "-l",
    "INFO",
    "--concurrency",
    "${WORKER_CONCURRENCY:-4}",
]
BEAT_COMMAND = [
    "celery",
    "-A",
    "integration_portal",
    "beat",
    "-l",
    "INFO",
    "--schedule",
    "/app/var/celerybeat-schedule",
]


def fill(argv: list[str], env: dict[str, str], var_dir: Path) -> list[str]:
    """A compose command as this machine runs it: ${VAR:-default} filled, /app/var → var_dir."""

    def one(arg: str) -> str:
        arg = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), arg)
        return arg.replace("/app/var", str(var_dir))

    return [one(arg) for arg in argv]
