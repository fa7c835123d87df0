# Two commands on a fresh machine with only Python 3.11 and make:
#   make run   - the portal with a full demo on embedded defaults (SQLite, no Redis)
#   make test  - the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: run test smoke lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	touch $(VENV)/.runtime $@

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

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var
