# Two commands on a fresh machine with only Python 3.11 and make:
#   make run   - the portal with a full demo on embedded defaults (SQLite, no Redis)
#   make test  - the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q --require-hashes

.PHONY: run test smoke rehearse lint lock bench bench-smoke clean
.PHONY: typecheck fmt migrations-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# requirements.txt and requirements-dev.txt are hashed locks generated from the two .in files:
# edit an .in file, then run this (add --upgrade-package NAME to move one pin).
COMPILE := $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(VENV)/.dev
	$(COMPILE) -o requirements.txt requirements.in
	$(COMPILE) -o requirements-dev.txt requirements-dev.in

run: $(VENV)/.runtime
	$(BIN)/python scripts/write_env.py
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py demo_setup
	$(BIN)/python scripts/run_portal.py

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The embedded-defaults mode (SQLite + filesystem broker) booted for real; CI runs it.
smoke: $(VENV)/.dev
	$(BIN)/python scripts/smoke_embedded.py

# The production topology rehearsed as plain processes (docs/RUNBOOK.md): a venv built from
# requirements.txt alone, gunicorn, two Celery workers, one beat, PostgreSQL and Redis.
# REHEARSAL_DATABASE_URL names the PostgreSQL server (default: postgres@127.0.0.1:5432).
rehearse: $(VENV)/.dev
	$(BIN)/python scripts/rehearse.py

# Benchmarks (docs/PERFORMANCE.md): gunicorn, Celery workers, PostgreSQL, Redis and the fakes,
# in their own database (bench_portal) and Redis DB (8). Needs `wrk` (Debian package).
# `bench` is the full set (~20 min); `bench-smoke` the short mode CI runs (correctness checks
# gate, timings are reported; the whole list within 3 minutes). BENCH_SCRIPTS is the one list
# both run: each entry is a module bench/NAME.py run as `python -m bench.NAME [--smoke]`.
BENCH_SCRIPTS := webhook_ingest webhook_cpu lever_egress e2e_latency worker_throughput metrics_scrape dashboard redaction worker_memory

bench: $(VENV)/.dev
	@rc=0; for b in $(BENCH_SCRIPTS); do $(BIN)/python -m bench.$$b || rc=1; done; exit $$rc

bench-smoke: $(VENV)/.dev
	@for b in $(BENCH_SCRIPTS); do $(BIN)/python -m bench.$$b --smoke || exit 1; done

# lint-imports checks the architecture contracts in pyproject.toml ([tool.importlinter]).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) var

# Static types: mypy with the Django and DRF plugins, configured in pyproject.toml ([tool.mypy]:
# which files, and the packages held to strict mode).
typecheck: $(VENV)/.dev
	$(BIN)/mypy

# Rewrites the project's Python files (tracked, and new ones not git-ignored): Django idioms of
# 5.2 first, then ruff's autofixes, then formatting, so that `make lint` passes on what it leaves.
# ruff fails on a finding it cannot fix. django-upgrade reads the files it is given, hence the
# list; like ruff (pyproject.toml), it leaves applied migrations as they were written.
PY_FILES = git ls-files -z --cached --others --exclude-standard -- '*.py' ':!:*/migrations/*'
fmt: $(VENV)/.dev
	$(PY_FILES) | xargs -0 $(BIN)/django-upgrade --target-version 5.2 --exit-zero-even-if-changed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Fails when a model change has no migration. The test settings (no .env, test-only secrets)
# make the run identical on every machine; CI calls it without DATABASE_URL, on SQLite, as for
# `make smoke`.
migrations-check: $(VENV)/.dev
	$(BIN)/python manage.py makemigrations --check --dry-run \
		--settings=integration_portal.test_settings

# Static security analysis and the known-vulnerability audit (docs/RELIABILITY.md). bandit fails
# on any finding not in the reviewed baseline. pip-audit needs PyPI's vulnerability API, which
# CI here cannot reach, so it is not part of .ci/run; --strict fails rather than pass with
# dependencies it could not audit.
.PHONY: audit
audit: $(VENV)/.dev
	$(BIN)/bandit -q -r integration_portal connectors orders -x '*/tests/*,*/migrations/*' \
		-b tests/security/bandit-baseline.json
	$(BIN)/pip-audit --strict --progress-spinner off -r requirements.txt
