# Fusion — every target installs what it needs into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH ?=
PYTEST_ARGS ?=

.PHONY: install system-packages run test test-live lint bench migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Debian packages some tests need (listed in .ci/packages.d/); needs root, installs only what is missing.
system-packages:
	.ci/install-packages

run: $(STAMP)
	$(BIN)/fusion run

test: $(STAMP)
	@.ci/install-packages || echo "(tests that need the missing Debian packages will say so)"
	$(BIN)/pytest $(PYTEST_ARGS)

# The Moodle contract suite against a live site (README, "Moodle set-up"); skips when unset.
test-live: $(STAMP)
	@if [ -z "$$FUSION_LIVE_MOODLE_URL" ] || [ -z "$$FUSION_LIVE_MOODLE_TOKEN" ]; then \
		echo "test-live skipped: set FUSION_LIVE_MOODLE_URL and FUSION_LIVE_MOODLE_TOKEN (README, Moodle set-up)"; \
	else \
		FUSION_CONTRACT_TARGETS=live $(BIN)/pytest tests/moodle/contract $(PYTEST_ARGS); \
	fi

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
