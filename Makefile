# The project's commands. `make dev` runs the local stack; `make test` is what CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install dev test lint pytest bench migrate token clean

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

bench: install
	$(BIN)/python bench/relay_fanout.py
	$(BIN)/python bench/discord_delivery.py
	$(BIN)/python bench/api_latency.py

migrate: install
	$(BIN)/python -m shared.db migrate

token: install
	@$(BIN)/python -m functions token

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache .hypothesis
