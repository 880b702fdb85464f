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

# The functions' zip (.local/lambda/honeydrip-backend.zip): locked wheels for serverless.yml's architecture.
lambda: install
	$(BIN)/python -m deploy.lambda_build

# The zip and the CloudFormation template in .serverless/, without any AWS call (secrets resolve at
# deploy time). Serverless builds the zip itself (deploy/serverless-plugins/lambda-build.js).
package: install node
	SLS_TELEMETRY_DISABLED=1 npx serverless package --stage $(STAGE)

# The same, deployed (AWS credentials in the environment; the SSM parameters first: README, Deploy).
deploy: install node
	SLS_TELEMETRY_DISABLED=1 npx serverless deploy --stage $(STAGE)

# Opt-in (not in `make test`): build the relay image, run it on the simulator, check health and SIGTERM.
image-test:
	bash deploy/image_test.sh

# Re-lock after a change to pyproject.toml's dependencies (the Lambda's: core + api; the relay image's: core + relay). boto3 is left
# out: the python3.11 runtime has it, and only the SQS hand-off uses it.
LOCK_FLAGS := --quiet --only-binary :all: --generate-hashes --no-header --annotation-style line
# The Lambda's: serverless.yml's runtime (python3.13, Amazon Linux 2023) and architecture.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra api $(LOCK_FLAGS) --python-version 3.13 --python-platform x86_64-manylinux_2_28 \
		--no-emit-package boto3 --no-emit-package botocore --no-emit-package s3transfer --no-emit-package jmespath \
		-o requirements.lambda.txt
	$(BIN)/uv pip compile pyproject.toml --extra relay $(LOCK_FLAGS) --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		-o requirements.relay.txt

dev: install
	$(BIN)/python -m shared.local.devstack

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The packaging test (tests/deploy) needs the deploy tool; without npm it fails saying what to install.
pytest: install
	@$(MAKE) --no-print-directory node || echo "make: the deploy tool is not installed; tests/deploy will say why"
	@$(MAKE) --no-print-directory browser
	$(BIN)/pytest

test: lint pytest

# The database suites once more against a server Postgres, when one answers at SERVER_DATABASE_URL.
test-server-db: install
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(SERVER_DATABASE_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL='$(SERVER_DATABASE_URL)' $(BIN)/pytest tests/foundation tests/discord tests/delivery tests/trades tests/alerts tests/jobs tests/gamma tests/signals tests/bars tests/massive; \
	else \
		echo "test-server-db: no Postgres answers at $(SERVER_DATABASE_URL); the embedded pass in 'make test' stands"; \
	fi

# The suites that read the date, again at fixed instants: an evening after the close, a Saturday,
# Thanksgiving, the day after (an early close, after 13:00), and the night clocks spring forward.
# The process and the embedded Postgres travel together (tests/session_clock.py; libfaketime from Debian's faketime).
CLOCKS ?= 2026-12-03T18:30:00-05:00 2026-12-05T12:00:00-05:00 2026-11-26T11:00:00-05:00 2026-11-27T13:30:00-05:00 2027-03-14T03:30:00-04:00
CLOCK_SUITES ?= tests/jobs tests/market tests/gamma tests/bars tests/massive tests/signals tests/trades tests/alerts
test-clocks: install
	@command -v faketime >/dev/null 2>&1 || { echo "make: test-clocks needs libfaketime: apt-get install faketime" >&2; exit 1; }
	@for instant in $(CLOCKS); do \
		echo "test-clocks: $$instant"; \
		env -u DATABASE_URL $(BIN)/pytest -q -p no:cacheprovider $(CLOCK_SUITES) --clock=$$instant || exit 1; \
	done

bench: install
	$(BIN)/python bench/relay_fanout.py
	$(BIN)/python bench/discord_delivery.py
	$(BIN)/python bench/api_latency.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/scanner.py
	$(BIN)/python bench/gex.py
	$(BIN)/python bench/gamma_job.py
	$(BIN)/python bench/cold_start.py

migrate: install
	$(BIN)/python -m shared.db migrate

token: install
	@$(BIN)/python -m functions token

clean:
	rm -rf $(VENV) .local node_modules .serverless .pytest_cache .mypy_cache .ruff_cache .hypothesis
