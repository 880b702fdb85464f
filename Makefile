# The project's commands. `make dev` runs the local stack; `make test` is what CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# A server Postgres for the second pass of the database suites (this machine runs PostgreSQL 15 there).
SERVER_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install dev test lint pytest test-server-db bench migrate token clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

dev: install
	$(BIN)/python -m shared.devstack

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint pytest

# The database suites once more against a server Postgres, when one answers at SERVER_DATABASE_URL.
test-server-db: install
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(SERVER_DATABASE_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL='$(SERVER_DATABASE_URL)' $(BIN)/pytest tests/foundation tests/discord tests/trades tests/alerts tests/jobs; \
	else \
		echo "test-server-db: no Postgres answers at $(SERVER_DATABASE_URL); the embedded pass in 'make test' stands"; \
	fi

bench: install
	$(BIN)/python bench/relay_fanout.py
	$(BIN)/python bench/discord_delivery.py
	$(BIN)/python bench/api_latency.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/scanner.py
	$(BIN)/python bench/gex.py
	$(BIN)/python bench/gamma_job.py

migrate: install
	$(BIN)/python -m shared.db migrate

token: install
	@$(BIN)/python -m functions token

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache .hypothesis
