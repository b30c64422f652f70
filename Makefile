# Fusion — every target installs what it needs into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH ?=
PYTEST_ARGS ?=

.PHONY: install run test lint bench migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/fusion run

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy fusion services sim launcher bench

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

SERVICE ?= apogee_api identity migration_orchestrator enrolment_sync
migrate: $(STAMP)
	for service in $(SERVICE); do $(BIN)/fusion migrate $$service || exit 1; done

clean:
	rm -rf var/*.db var/bench
