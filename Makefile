# videohooks: the README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= videohooks.example.toml

.PHONY: run test bench lint typecheck schemas screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per dependency set, remade when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $@ $(VENV)/.installed-run

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
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_console_browser.py

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run

# Both gate CI (.ci/run): lint and types first, then the suite.
LINTED := receiver schemas tests bench examples

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy receiver schemas

# Rewrite the committed JSON Schemas of the canonical event after changing schemas/event.py.
schemas: $(VENV)/.installed-run
	$(BIN)/videohooks schemas export --version 1 --output schemas/event.v1.schema.json
	$(BIN)/videohooks schemas export --version 2 --output schemas/event.v2.schema.json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
