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
DATA := $${REGISTRY_DATA_DIR:-.data}
REDIS_PORT ?= 6379
SERVICES_ENV := $(DEV_ENV) CELERY_BROKER_URL=redis://127.0.0.1:$(REDIS_PORT)/0

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
	$(VENV)/bin/ruff format --check .

# A local Redis, a Celery worker and beat next to `make run` (then start `make run` with
# CELERY_BROKER_URL=redis://127.0.0.1:6379/0 so the web process queues instead of running eagerly).
services: $(STAMP)
	@command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server"; exit 1; }
	@mkdir -p $(DATA)
	redis-server --bind 127.0.0.1 --port $(REDIS_PORT) --daemonize yes --save '' --appendonly no \
	  --dir $(DATA) --pidfile $(CURDIR)/$(DATA)/redis.pid
	$(SERVICES_ENV) $(VENV)/bin/celery -A registry worker --pool=solo --detach \
	  --pidfile $(CURDIR)/$(DATA)/celery-worker.pid --logfile $(CURDIR)/$(DATA)/celery-worker.log
	$(SERVICES_ENV) $(VENV)/bin/celery -A registry beat --detach \
	  --schedule $(CURDIR)/$(DATA)/celerybeat-schedule \
	  --pidfile $(CURDIR)/$(DATA)/celery-beat.pid --logfile $(CURDIR)/$(DATA)/celery-beat.log
	@echo "redis on 127.0.0.1:$(REDIS_PORT), worker and beat running (logs in $(DATA)/)"

# Benchmarks (issue 15): data generated once into .data/bench (BENCH_DATA_DIR) if missing,
# gunicorn + wrk on 127.0.0.1, figures in bench/results.md and bench/explain.md (see bench/README.md).
# Options: make bench BENCH_ARGS="--duration 15 --workers 4".
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

stop:
	-@for p in celery-beat celery-worker redis; do \
	  f=$(DATA)/$$p.pid; test -f $$f && kill $$(cat $$f) 2>/dev/null && echo "stopped $$p"; rm -f $$f; done; true
	-@test -x $(PY) && $(PY) -m registry.embedded_postgres stop || true
