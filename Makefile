# Wangge — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WANGGE := $(BIN)/wangge
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_SCALE ?= small

.PHONY: run test lint format bench install assets messages migrate demo check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever the declared dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed messages

assets: node_modules/.installed

# Compiled catalogues are build output, not source: made from the .po files with polib (no gettext needed).
messages: $(VENV)/.installed
	$(BIN)/python -m wangge.i18n_build

migrate: install
	$(WANGGE) migrate --no-input

run: migrate
	$(WANGGE) demo --scale $(DEMO_SCALE) --if-empty
	$(WANGGE) demo-logins
	@echo "Serving on http://$(HOST):$(PORT)/ with the deadline worker beside it (Ctrl-C stops both)"
	@$(WANGGE) worker --interval 60 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(WANGGE) runserver $(HOST):$(PORT)

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(WANGGE) makemigrations --check --dry-run

test: check
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules var/*.sqlite3* src/*.egg-info
