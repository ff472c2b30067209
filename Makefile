# Quick start: `make run` (serves on 127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Development environment for `make run` / `make test`: plain http on loopback, a throwaway
# secret. Production sets its own (see README, Configuration).
DEV_ENV := DEBUG=1 SECRET_KEY=$${SECRET_KEY:-dev-insecure-secret-key-for-local-use-only-0123456789}

.PHONY: run test lint stop migrate venv services bench

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py load_catalog
	$(DEV_ENV) $(PY) manage.py load_demo

run: migrate
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	$(DEV_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

stop:
	-@test -x $(PY) && $(PY) -m registry.embedded_postgres stop || true
