# The project's commands. `make dev` runs the local stack; `make test` is what CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# A server Postgres for the second pass of the database suites (this machine runs PostgreSQL 15 there).
SERVER_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install dev test lint pytest test-server-db test-clocks bench migrate token clean node browser lambda package deploy lock image-test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# `make` alone prints this list.
.DEFAULT_GOAL := help
.PHONY: help
help:
	@echo "make dev             the whole local stack on embedded defaults (API, relay, Discord sink, jobs); Ctrl-C stops it"
	@echo "make test            what CI runs: lint, then the whole pytest suite"
	@echo "make lint            ruff check and mypy"
	@echo "make fmt             ruff check --fix (formatting is kept by hand: docs/testing.md)"
	@echo "make pytest          the whole suite on the embedded Postgres (pytest args: .venv/bin/pytest ...)"
	@echo "make ci-deps         what a few tests need beyond the venv: the deploy tool (npm ci) and chromium"
	@echo "make test-server-db  the database suites again on a server Postgres (SERVER_DATABASE_URL)"
	@echo "make test-clocks     the date-sensitive suites at fixed instants (CLOCKS; needs faketime)"
	@echo "make bench           every benchmark in bench/, or one: make bench BENCH=relay_fanout"
	@echo "make install         the virtualenv (.venv) with the project and its dev extras"
	@echo "make migrate         apply pending migrations (python -m shared.db migrate)"
	@echo "make token           print an admin token for local use (python -m functions token)"
	@echo "make lambda          the functions' zips, one per kind (.local/lambda/api.zip, jobs.zip)"
	@echo "make package         the zip and the CloudFormation template, no AWS call (STAGE=prod)"
	@echo "make deploy          package and deploy the functions (AWS credentials; STAGE=prod)"
	@echo "make lock            re-lock requirements.api.txt, requirements.jobs.txt and requirements.relay.txt"
	@echo "make image-test      build the relay image, run it on the simulator, check health and SIGTERM"
	@echo "make node            the deploy tool (npm ci from package-lock.json)"
	@echo "make browser         Debian's chromium, when root (the status page's test)"
	@echo "make clean           remove the venv, .local, node_modules and caches"

# Lint's fixes only: the project does not run `ruff format` (docs/testing.md, Formatting, says why).
.PHONY: fmt
fmt: install
	$(BIN)/ruff check --fix .

# The deploy tool (osls, pinned by package-lock.json), reinstalled only when the lock changes.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make: npm not found: install Node.js 18+ with npm (apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node: $(NODE_STAMP)

# Debian's chromium, for the relay status page's test (tests/relay/test_status_page.py skips without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
			|| { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } \
			|| echo "make: could not install chromium (apt-get install chromium); the status page test will skip"; \
		else echo "make: chromium missing and not root: apt-get install chromium, or the status page test skips"; fi; }

STAGE ?= prod

# The functions' zips, one per kind (deploy/artefacts.py): each kind's locked wheels for serverless.yml's architecture.
lambda: install
	$(BIN)/python -m deploy.lambda_build

# The zip and the CloudFormation template in .serverless/, without any AWS call (secrets resolve at
# deploy time). Serverless builds the zip itself (deploy/serverless-plugins/lambda-build.js).
package: install node
	SLS_TELEMETRY_DISABLED=1 npx serverless package --stage $(STAGE)

# The same, deployed (AWS credentials in the environment; the SSM parameters first: docs/deploy.md).
deploy: install node
	SLS_TELEMETRY_DISABLED=1 npx serverless deploy --stage $(STAGE)

# Opt-in (not in `make test`): build the relay image, run it on the simulator, check health and SIGTERM.
image-test:
	bash deploy/image_test.sh

# Re-lock after a change to pyproject.toml's dependencies: one lock per Lambda artefact (deploy/artefacts.py:
# api = core + api, jobs = core + api + jobs) and the relay image's (core + relay). boto3 is left out of
# the Lambda locks: the runtime has it, and only the SQS hand-off uses it.
LOCK_FLAGS := --quiet --only-binary :all: --generate-hashes --no-header --annotation-style line
# The Lambdas': serverless.yml's runtime (python3.13, Amazon Linux 2023) and architecture.
LAMBDA_LOCK_FLAGS := $(LOCK_FLAGS) --python-version 3.13 --python-platform x86_64-manylinux_2_28 \
	--no-emit-package boto3 --no-emit-package botocore --no-emit-package s3transfer --no-emit-package jmespath
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra api $(LAMBDA_LOCK_FLAGS) -o requirements.api.txt
	$(BIN)/uv pip compile pyproject.toml --extra jobs $(LAMBDA_LOCK_FLAGS) -o requirements.jobs.txt
	$(BIN)/uv pip compile pyproject.toml --extra relay $(LOCK_FLAGS) --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		-o requirements.relay.txt

dev: install
	$(BIN)/python -m shared.local.devstack

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Installs nothing beyond the venv: without `make ci-deps`, tests/deploy fails saying what to install
# and the status page's test skips saying why.
pytest: install
	$(BIN)/pytest

# What a few tests need beyond the venv, installed where CI runs (.ci/run calls it before `make test`):
# the deploy tool (npm ci) for tests/deploy, and Debian's chromium (when root) for the status page's test.
.PHONY: ci-deps
ci-deps:
	@$(MAKE) --no-print-directory node || echo "make: the deploy tool is not installed; tests/deploy will say why"
	@$(MAKE) --no-print-directory browser

test: lint pytest

# The database suites' tests that reach Postgres, once more against a server Postgres, when one answers at
# SERVER_DATABASE_URL (the others, pure or on fakes, ran in `make test` already).
test-server-db: install
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(SERVER_DATABASE_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL='$(SERVER_DATABASE_URL)' $(BIN)/pytest --database-tests-only tests/foundation tests/discord tests/delivery tests/trades tests/alerts tests/jobs tests/gamma tests/signals tests/bars tests/massive tests/market_data; \
	else \
		echo "test-server-db: no Postgres answers at $(SERVER_DATABASE_URL); the embedded pass in 'make test' stands"; \
	fi

# The suites that read the date, again at fixed instants (tests/session_clock.py): this process and the
# embedded Postgres travel together (libfaketime, from Debian's faketime). Three at a time on 2 cores: a run
# waits on its Postgres about half the time (5 instants: 5:45 at -j3, about 6:15 at -j2).
CLOCK_evening      := 2026-12-03T18:30:00-05:00
CLOCK_saturday     := 2026-12-05T12:00:00-05:00
CLOCK_thanksgiving := 2026-11-26T11:00:00-05:00
CLOCK_early-close  := 2026-11-27T13:30:00-05:00
CLOCK_dst-spring   := 2027-03-14T03:30:00-04:00
CLOCKS ?= evening saturday thanksgiving early-close dst-spring
CLOCK_SUITES ?= tests/jobs tests/market tests/gamma tests/bars tests/massive tests/signals tests/trades tests/alerts
test-clocks: install
	@command -v faketime >/dev/null 2>&1 || { echo "make: test-clocks needs libfaketime: apt-get install faketime" >&2; exit 1; }
	@$(MAKE) --no-print-directory -j3 -Otarget $(addprefix clock-,$(CLOCKS))

clock-%: install
	@echo "test-clocks: $* ($(CLOCK_$*))"
	@env -u DATABASE_URL $(BIN)/pytest -q -p no:cacheprovider $(CLOCK_SUITES) --clock=$(CLOCK_$*)

# Every benchmark in bench/ (numbers in docs/benchmarks.md), or one: make bench BENCH=relay_fanout
BENCHES := relay_fanout discord_delivery api_latency ingest scanner gex gamma_job hostile_chain market_data cold_start
BENCH ?= $(BENCHES)
bench: install
	@for name in $(BENCH); do \
		test -f bench/$$name.py || { echo "make: no bench/$$name.py (one of: $(BENCHES))" >&2; exit 1; }; \
		$(BIN)/python bench/$$name.py || exit 1; \
	done

migrate: install
	$(BIN)/python -m shared.db migrate

token: install
	@$(BIN)/python -m functions token

clean:
	rm -rf $(VENV) .local node_modules .serverless .pytest_cache .mypy_cache .ruff_cache .hypothesis
