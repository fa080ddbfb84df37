# Every target builds or reuses .venv from pyproject.toml on its own: a fresh clone needs only Python >= 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# MCP Inspector (a third-party MCP client) for the demo and one test; 0.15.x is the line that runs on
# Node 20. Installed here, at set-up, so no test fetches from a registry; without npm it is skipped.
INSPECTOR_VERSION := 0.15.0
INSPECTOR_STAMP   := .tools/.inspector-$(INSPECTOR_VERSION)

# The MCP conformance suite (npm) needs Node >= 22: npm's node@22 package brings one into .tools.
CONFORMANCE_VERSION := 0.1.16
CONFORMANCE_STAMP   := .tools/.conformance-$(CONFORMANCE_VERSION)

# PostgreSQL server binaries for the remote server's tests (a temporary cluster per test run):
# Debian's package where apt is available and we are root; without them those tests skip, saying why.
PG_STAMP := .tools/.postgresql

# The emulator lives in the repository only (daemon/cway_emulator; the wheel leaves it out), so every
# target that runs it puts its folder on PYTHONPATH.
EMULATOR_PATH := PYTHONPATH="$(CURDIR)/daemon$${PYTHONPATH:+:$$PYTHONPATH}"

# Headless Chromium for the accounts-page and real-browser tests, and systemd-analyze for the unit-file
# checks: Debian's packages where they are missing, apt is available and we are root; otherwise
# those tests skip, saying why.
BROWSER_STAMP := .tools/.chromium
SYSTEMD_STAMP := .tools/.systemd-analyze

.PHONY: demo demo-remote test test-lowest lint bench emulator daemon conformance clean kill-storm tool-schemas docs-tables bench-scale dist

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(INSPECTOR_STAMP):
	@mkdir -p .tools
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix .tools --no-fund --no-audit --no-update-notifier --silent \
			@modelcontextprotocol/inspector@$(INSPECTOR_VERSION) && touch $@ \
		|| echo "MCP Inspector could not be installed; the demo and its test will say so and skip it"; \
	else echo "npm not found: the MCP Inspector step of the demo and its test will be skipped"; fi

$(PG_STAMP):
	@mkdir -p .tools
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then \
		touch $@; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			postgresql >/dev/null && touch $@) \
		|| echo "PostgreSQL could not be installed; the remote server's database tests will skip"; \
	else echo "no PostgreSQL server and no apt as root: the remote server's database tests will skip"; fi

$(BROWSER_STAMP):
	@mkdir -p .tools
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		touch $@; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium >/dev/null && touch $@) \
		|| echo "Chromium could not be installed; the browser tests will skip"; \
	else echo "no Chromium and no apt as root: the browser tests will skip"; fi

$(SYSTEMD_STAMP):
	@mkdir -p .tools
	@if command -v systemd-analyze >/dev/null 2>&1; then \
		touch $@; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			systemd >/dev/null && touch $@) \
		|| echo "systemd could not be installed; the unit-file checks will skip"; \
	else echo "no systemd-analyze and no apt as root: the unit-file checks will skip"; fi

$(CONFORMANCE_STAMP):
	@mkdir -p .tools/conformance
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix .tools/conformance --no-fund --no-audit --no-update-notifier --silent \
			node@22 @modelcontextprotocol/conformance@$(CONFORMANCE_VERSION) && touch $@ \
		|| echo "the MCP conformance suite could not be installed"; \
	else echo "npm not found: the MCP conformance suite cannot be installed"; fi

# `cway-mcp serve` as deployed: PostgreSQL, two replicas behind a balancer, the SDK's OAuth client.
demo-remote: $(STAMP) $(PG_STAMP)
	$(EMULATOR_PATH) $(PY) -m tests.demo_remote

# The official MCP conformance suite against `cway-mcp serve` (PostgreSQL, emulator, one replica).
conformance: $(STAMP) $(PG_STAMP) $(CONFORMANCE_STAMP)
	$(EMULATOR_PATH) $(PY) -m tests.conformance_remote

demo: $(STAMP) $(INSPECTOR_STAMP)
	$(EMULATOR_PATH) $(PY) -m cway_emulator.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check contract daemon shim tests
	$(VENV)/bin/ruff format --check contract daemon shim tests
	$(VENV)/bin/mypy

# The artifact tier (tests/installed/) runs against the wheel as users install it: the sdist, the wheel
# built from it and the venv that installed it are built once here, outside the repository, and
# named to pytest in CWAY_TEST_ARTIFACTS (tests/helpers/artifacts.py); removed afterwards.
test: lint $(INSPECTOR_STAMP) $(PG_STAMP) $(BROWSER_STAMP) $(SYSTEMD_STAMP)
	@art=$$(mktemp -d /tmp/cw-artifacts-XXXXXX) && chmod 755 "$$art" && \
	$(PY) -m tests.helpers.artifacts "$$art" && \
	CWAY_TEST_ARTIFACTS="$$art" $(VENV)/bin/pytest -n 2 -q; status=$$?; rm -rf "$$art"; exit $$status

# Every lower bound pyproject.toml states, installed together (uv's lowest-direct resolution: our direct
# dependencies at their floor, the rest as resolved), and the suite run on them: a bound we state
# is one that works. Not part of `make test`: it is a second whole run. The artifact and release
# tiers are about what ships, not the bounds; they run in `make test`.
LOWEST := .venv-lowest
test-lowest: $(STAMP) $(PG_STAMP) $(BROWSER_STAMP) $(SYSTEMD_STAMP)
	rm -rf $(LOWEST)
	$(PY) -m uv venv --quiet --python $(PY) $(LOWEST)
	$(PY) -m uv pip compile --quiet --resolution lowest-direct --extra remote --extra test \
		--python $(LOWEST)/bin/python -o $(LOWEST)/lowest.txt pyproject.toml
	$(PY) -m uv pip install --quiet --python $(LOWEST)/bin/python -c $(LOWEST)/lowest.txt -e '.[test]'
	$(LOWEST)/bin/pytest -n 2 -q -p no:cacheprovider --ignore=tests/installed --ignore=tests/release

bench: $(STAMP)
	$(EMULATOR_PATH) $(PY) -m tests.bench

# after changing a socket route, an error code or an account state (tests/common/test_docs_tables.py says when)
docs-tables: $(STAMP)
	$(EMULATOR_PATH) $(PY) -m tests.docs_tables

# the 100 000-user row alone (two replicas, the refreshes due in one minute); USERS=... to change
bench-scale: $(STAMP)
	CWAY_BENCH_SCALE_USERS=$${USERS:-100000} $(EMULATOR_PATH) $(PY) -m tests.bench scale

# after changing a tool's arguments or output model (tests/shim_tools/test_tool_schema_cache.py says when)
tool-schemas: $(STAMP)
	$(PY) -m cway_mcp_shim.tool_schema_cache

emulator: $(STAMP)
	$(EMULATOR_PATH) $(PY) -m cway_emulator

daemon: $(STAMP)
	$(VENV)/bin/cway-auth daemon

clean:
	rm -rf $(VENV) $(LOWEST) .tools .pytest_cache .mypy_cache .ruff_cache

# kill -9 during a refresh storm over 500 accounts, 10 times: how many sign-ins a crash costs (issue 7);
# then the catch-up storm a daemon meets after a sleep (issue 22; docs/security.md has both figures).
kill-storm: $(STAMP)
	$(EMULATOR_PATH) $(PY) -m tests.kill_storm --accounts 500 --kills 10 --seed 1
	$(EMULATOR_PATH) $(PY) -m tests.kill_storm --accounts 500 --kills 10 --seed 1 --refreshed-lifetime 3600 --threshold 300

# Refresh the shipped Cway schema (contract/cway_contract/data/schema.graphql) from Cway's introspection:
# CWAY_API_TOKEN=<token> make update-schema  (docs/testing.md, "The Cway schema").
.PHONY: update-schema
update-schema: $(STAMP)
	$(PY) -m tests.update_schema

# Release files in dist/: the wheel, the sdist, SHA256SUMS and a CycloneDX SBOM (tests/helpers/dist.py says how;
# offline, reproducible: SOURCE_DATE_EPOCH defaults to the last commit's time). docs/upgrading.md has the release steps.
dist: $(STAMP)
	$(PY) -m tests.helpers.dist dist
