# The two quick-start commands:  `make run`  and  `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := .make

# The admin's DMN editor (dmn-js), bundled from npm by esbuild; built, never committed.
EDITOR := static/ruleengine/vendor/dmn-editor/dmn_editor.js

.PHONY: install run test test-quick checks lint format bench clean

# Everything the tests, checks and benchmarks need. `make run` needs only $(STAMP)/runtime (and
# builds the DMN editor when npm is there).
install: $(STAMP)/dev $(STAMP)/node $(EDITOR)

# System packages some targets need: Debian's Chromium (browser tests drive it with Playwright;
# Playwright's own browser download is not used) and wrk (the API benchmark).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
define apt_install
	command -v $(1) >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(2) >/dev/null; }
endef

$(STAMP)/chromium:
	@mkdir -p $(STAMP)
	$(call apt_install,chromium,chromium)
	@touch $@

$(STAMP)/wrk:
	@mkdir -p $(STAMP)
	$(call apt_install,wrk,wrk)
	@touch $@

# curl and jq: the README's API examples, which tests/ruleengine/test_readme_examples.py runs.
$(STAMP)/curl-jq:
	@mkdir -p $(STAMP)
	$(call apt_install,curl,curl)
	$(call apt_install,jq,jq)
	@touch $@

# What serving needs, and nothing else: requirements.txt (no test, lint or benchmark packages,
# no npm), so that `make run` on a fresh machine starts in well under a minute.
$(STAMP)/runtime: requirements.txt
	@mkdir -p $(STAMP)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# Test, lint and benchmark packages, resolved together with the runtime pins.
$(STAMP)/dev: $(STAMP)/runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check \
		-r requirements.txt -r requirements-dev.txt
	@touch $@

$(STAMP)/node: package.json package-lock.json
	@mkdir -p $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(EDITOR): frontend/dmn_editor.js $(STAMP)/node
	npm run --silent build:editor

# Install what serving needs, migrate the embedded SQLite database, load demo data and serve
# the admin.
run: $(STAMP)/runtime
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(EDITOR); \
		else echo "npm not found: the admin's DMN editor is not built (make install builds it)"; fi
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	@echo "Admin: http://127.0.0.1:8000/admin/  (Ctrl-C stops the server)"
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

# The whole test suite: static checks, then PostgreSQL, TimescaleDB and SQLite phases.
test: install $(STAMP)/chromium $(STAMP)/curl-jq checks
	$(PY) scripts/run_tests.py

# The edit-run loop (about 2 minutes): the tests not marked slow, browser or timescaledb, on
# PostgreSQL chosen as `make test` does ($$DATABASE_URL, else 127.0.0.1:5432, else a throwaway
# cluster). No static checks, no Chromium.
test-quick: install
	$(PY) scripts/run_tests.py --only postgres --quick

# Lint, formatting, import contracts (pyproject.toml), migrations in sync, and the production
# deploy checks.
checks: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=check-deploy-$$(date +%s)-a-long-random-production-like-secret-key \
		ALLOWED_HOSTS=rules.example.com $(PY) manage.py check --deploy --fail-level WARNING

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install $(STAMP)/wrk
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/api.py
	$(PY) benchmarks/backtest.py

clean:
	rm -rf $(VENV) node_modules $(STAMP)
