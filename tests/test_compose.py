"""docker-compose.yml and .env.example agree with each other and with settings.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")


def documented_variables() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def command_text(service: str) -> str:
    command = SERVICES[service]["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_every_service_is_present():
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(SERVICES)


def test_web_runs_under_gunicorn_with_its_config_file():
    assert command_text("web").startswith("gunicorn integration_portal.wsgi -c gunicorn.conf.py")
    assert (ROOT / "gunicorn.conf.py").exists()


def test_worker_and_beat_run_celery():
    assert command_text("worker").startswith("celery -A integration_portal worker")
    assert command_text("beat").startswith("celery -A integration_portal beat")
    # `--scale worker=N` needs no fixed name or host port on the worker.
    assert "container_name" not in SERVICES["worker"] and "ports" not in SERVICES["worker"]


def test_health_checks_probe_readyz_pg_isready_and_redis_ping():
    def probe(service: str) -> str:
        test = SERVICES[service]["healthcheck"]["test"]
        return test if isinstance(test, str) else " ".join(test)

    assert "/readyz" in probe("web")
    assert "pg_isready" in probe("postgres")
    assert "redis-cli ping" in probe("redis")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_wait_for_healthy_postgres_and_redis(service):
    depends = SERVICES[service]["depends_on"]
    for dependency in ("postgres", "redis"):
        assert depends[dependency]["condition"] == "service_healthy"


def test_app_services_build_from_the_dockerfile_on_python_311_slim():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert "requirements.txt" in dockerfile
    for service in APP_SERVICES:
        assert SERVICES[service]["build"] == "."


def test_every_compose_variable_is_listed_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    # `$${VAR}` is an escaped dollar: the container's shell expands it, not compose.
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    assert used, "the compose file uses no variables?"
    assert used - documented_variables() == set()


def test_every_variable_settings_reads_is_listed_in_env_example():
    source = (ROOT / "integration_portal" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', source))
    read |= set(re.findall(r'os\.environ(?:\.get)?[(\[]\s*"([A-Z][A-Z0-9_]*)"', source))
    assert {"DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL"} <= read
    assert read - documented_variables() == set()


def test_every_variable_gunicorn_reads_is_listed_in_env_example():
    source = (ROOT / "gunicorn.conf.py").read_text()
    read = set(re.findall(r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]*)"', source))
    read |= set(re.findall(r"os\.environ\.get\(\s*'([A-Z][A-Z0-9_]*)'", source))
    assert "WEB_CONCURRENCY" in read
    assert read - documented_variables() == set()


def rehearsal_commands() -> dict[str, list[str]]:
    import importlib.util

    path = ROOT / "scripts" / "rehearsal" / "commands.py"
    spec = importlib.util.spec_from_file_location("rehearsal_commands", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        "migrate": module.MIGRATE_COMMAND,
        "web": module.WEB_COMMAND,
        "worker": module.WORKER_COMMAND,
        "beat": module.BEAT_COMMAND,
    }


@pytest.mark.parametrize("service", ["migrate", "web", "worker", "beat"])
def test_compose_runs_the_commands_the_production_rehearsal_runs(service):
    # `make rehearse` starts these very commands as plain processes; compose must not drift.
    assert SERVICES[service]["command"] == rehearsal_commands()[service]


def test_the_readme_tells_operators_the_same_commands():
    readme = (ROOT / "README.md").read_text()
    for service, argv in rehearsal_commands().items():
        shown = " ".join(argv).replace("${WORKER_CONCURRENCY:-4}", "4").replace("/app/var", "var")
        assert shown in readme, f"README does not show the {service} command: {shown}"


def test_the_image_leaves_tests_and_benchmarks_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"tests", "**/tests", "bench", "conftest.py"} <= set(ignored)


def test_the_webhook_age_window_is_fourteen_days_in_every_place_an_operator_reads_it():
    """Lever's manual Rerun reaches two weeks back: the window must match in all four places."""
    from django.conf import settings

    two_weeks = 14 * 24 * 3600
    env_example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    assert settings.LEVER_WEBHOOK_MAX_AGE_S == two_weeks
    assert f"# LEVER_WEBHOOK_MAX_AGE_S={two_weeks}\n" in env_example
    assert SERVICES["web"]["environment"]["LEVER_WEBHOOK_MAX_AGE_S"] == (
        f"${{LEVER_WEBHOOK_MAX_AGE_S:-{two_weeks}}}"
    )
    assert f"| `LEVER_WEBHOOK_MAX_AGE_S` | `{two_weeks}` |" in readme
