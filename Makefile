# Threshold: the two commands are `make run` and `make test`; see README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
STATIC_STAMP := var/staticfiles/.collected
# Embedded runs (no SECRET_KEY) are development runs; production sets SECRET_KEY and DEBUG=0.
DJANGO := DEBUG=$${DEBUG:-1} $(BIN)/python manage.py

.PHONY: install run test lint format bench clean

install: $(PY_STAMP) $(STATIC_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STATIC_STAMP): $(NODE_STAMP) $(PY_STAMP) $(shell find common/static -type f 2>/dev/null)
	npm run --silent build
	$(DJANGO) collectstatic --noinput --verbosity 0
	touch $@

run: install
	$(DJANGO) migrate --noinput
	$(DJANGO) seed_demo
	@if [ -n "$$REDIS_URL" ]; then \
	  echo "REDIS_URL is set: starting web, Celery worker and beat (Ctrl-C stops all)"; \
	  DEBUG=$${DEBUG:-1} $(BIN)/honcho -f Procfile start; \
	else \
	  echo "Embedded mode: SQLite under var/, Celery tasks run in-process. Serving http://127.0.0.1:8000"; \
	  $(DJANGO) runserver 127.0.0.1:8000; \
	fi

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(DJANGO) makemigrations --check --dry-run

format: $(PY_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) node_modules static_build var
