# wheelflow: the two set-up commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint typecheck bench clean services lock stack-test web web-types

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Run the whole pipeline once on the embedded default (SQLite, local Prefect, synthetic market).
## Then `wheelflow api` serves the dashboard (built here when npm is installed).
run: $(STAMP)
	$(BIN)/wheelflow db upgrade
	$(BIN)/wheelflow run
	@$(MAKE) --no-print-directory web
	@echo "Dashboard: $(BIN)/wheelflow users create <name> --role admin, then $(BIN)/wheelflow api and open http://127.0.0.1:8000/"

## Build the dashboard (web/dist) when npm is present; the API serves it at /.
web:
	@if command -v npm >/dev/null 2>&1; then \
	  cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && npm run build --silent; \
	else echo "npm not found: the dashboard is not built (the JSON API works without it)"; fi

## Regenerate the dashboard's API types from the app (commit web/openapi.json and schema.d.ts).
web-types: $(STAMP)
	$(BIN)/python -m api.schema_dump web/openapi.json
	cd web && npx --no-install openapi-typescript openapi.json -o src/api/schema.d.ts

## Run the test suite (SQLite and PostgreSQL on 127.0.0.1:5432, database `test`).
test: $(STAMP) services
	$(BIN)/python -m pytest

## Start the local PostgreSQL and Redis if they are down (machines of this workplace).
services:
	@bash .ci/services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy wheelflow models validations flows tasks api

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/pricing.py

## Regenerate deployments/requirements.lock (pinned dependencies the Docker image installs).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-find-links --no-emit-index-url \
		--no-emit-trusted-host --output-file deployments/requirements.lock pyproject.toml

## The compose topology from Debian packages on loopback, checked end to end (root; minutes).
stack-test: $(STAMP)
	bash deployments/stack-test.sh

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist web/test-results
