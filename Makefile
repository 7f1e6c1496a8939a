# videohooks: the README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= videohooks.example.toml

.PHONY: run test bench lint typecheck schemas screenshots lock clean

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

# Upgrade every pinned dependency, then run the checks: an upgrade lands as its own commit.
lock: | $(UV)
	$(UV) lock --upgrade
	$(MAKE) lint typecheck test

run: $(VENV)/.installed-run
	$(BIN)/videohooks serve --config $(CONFIG) --host 127.0.0.1 --port 8080

# The suite starts its own redis-server on a free port unless REDIS_URL names one; the cluster and
# sentinel tests always start their own nodes, so redis-server (and redis-cli) must be installed.
# The console's browser tests drive Debian's chromium through chromium-driver.
test: $(VENV)/.installed-test
	@command -v redis-server >/dev/null 2>&1 || .ci/install-redis
	@(command -v chromium && command -v chromedriver) >/dev/null 2>&1 || .ci/install-chromium
	$(BIN)/python -m pytest

# Retake the console screenshots the README shows (the browser test writes them to the repo only then).
screenshots: $(VENV)/.installed-test
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/http/test_console_browser.py

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run

# Both gate CI (.ci/run): lint and types first, then the suite.
LINTED := receiver schemas tests bench examples

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy receiver schemas tests

# Rewrite the committed JSON Schemas of the canonical event after changing schemas/event.py.
schemas: $(VENV)/.installed-run
	$(BIN)/videohooks schemas export --version 1 --output schemas/event.v1.schema.json
	$(BIN)/videohooks schemas export --version 2 --output schemas/event.v2.schema.json

clean:
	rm -rf $(VENV) .tools var .pytest_cache .mypy_cache .ruff_cache
