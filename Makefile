# Touchbase: `make run` serves the API, `make test` runs every test; each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run migrate test test-unit lint fmt openapi check bench soak clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create the virtualenv and install the service with its dev tools

run: $(STAMP) ## Migrate and serve on :8000 (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/touchbase migrate
	$(BIN)/touchbase serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

migrate: $(STAMP) ## Bring the database to the latest migration
	$(BIN)/touchbase migrate

test: $(STAMP) ## All tests against PostgreSQL (TEST_DATABASE_URL, else 127.0.0.1:5432, else embedded)
	$(BIN)/pytest -q

test-unit: $(STAMP) ## The pure tests, no database
	$(BIN)/pytest -q tests/unit

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy app tests bench

fmt: $(STAMP) ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

openapi: $(STAMP) ## Rewrite openapi/openapi.json from the code
	$(BIN)/python -m app.openapi > openapi/openapi.json

check: lint test ## What CI runs

bench: $(STAMP) ## Benchmark against this machine's ceilings (BENCH_SCALE=small: a smoke run)
	$(BIN)/python -m bench.run $(if $(BENCH_SCALE),--scale $(BENCH_SCALE)) $(BENCH_ARGS)

soak: $(STAMP) ## Long reliability runs: load, database faults, SIGTERM, fuzzing (SOAK_SECONDS=120)
	SOAK_SECONDS=$${SOAK_SECONDS:-120} $(BIN)/pytest -q tests/reliability -m soak

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) .touchbase
