# Every target builds or reuses .venv from pyproject.toml on its own: a fresh clone needs only Python >= 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench emulator daemon clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m cway_emulator.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check daemon shim tests
	$(VENV)/bin/ruff format --check daemon shim tests
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -n 2 -q

bench: $(STAMP)
	$(PY) -m tests.bench

emulator: $(STAMP)
	$(PY) -m cway_emulator

daemon: $(STAMP)
	$(VENV)/bin/cway-auth daemon

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
