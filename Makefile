# Fusion — every target installs what it needs into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH ?=
PYTEST_ARGS ?=
# The suite runs on two pytest-xdist workers, a test file each at a time (module fixtures stay
# whole); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2

PORT ?= 8000
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --universal --quiet

.PHONY: install lock system-packages run test test-live lint bench migrate stack stack-down clean

# Every package at the version and hash of the lock; then Fusion itself, editable, with no deps.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# After changing a dependency in pyproject.toml: re-resolve both locks (the runtime one, which the
# Dockerfile installs, within the dev one, so the two agree), then `make install`.
lock:
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv==0.13.9
	$(UV_COMPILE) --extra dev -o requirements-dev.lock
	$(UV_COMPILE) -c requirements-dev.lock -o requirements.lock

# Debian packages some tests need (listed in .ci/packages.d/); needs root, installs only what is missing.
system-packages:
	.ci/install-packages

run: $(STAMP)
	$(BIN)/fusion run --port $(PORT)

test: $(STAMP)
	@.ci/install-packages || echo "(tests that need the missing Debian packages will say so)"
	$(BIN)/pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder) $(PYTEST_ARGS)

# The Moodle contract suite against a live site (README, "Moodle set-up"); skips when unset.
test-live: $(STAMP)
	@if [ -z "$$FUSION_LIVE_MOODLE_URL" ] || [ -z "$$FUSION_LIVE_MOODLE_TOKEN" ]; then \
		echo "test-live skipped: set FUSION_LIVE_MOODLE_URL and FUSION_LIVE_MOODLE_TOKEN (README, Moodle set-up)"; \
	else \
		FUSION_CONTRACT_TARGETS=live $(BIN)/pytest tests/moodle/contract $(PYTEST_ARGS); \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy fusion services sim launcher bench tests

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

SERVICE ?= apogee_api identity migration_orchestrator enrolment_sync
migrate: $(STAMP)
	for service in $(SERVICE); do $(BIN)/fusion migrate $$service || exit 1; done

# The distributed mode on this machine: a process per service, Debian's nginx in front on
# 127.0.0.1:$(STACK_PORT), the local PostgreSQL and RabbitMQ. `make stack-down PURGE=1` also
# drops its databases and RabbitMQ virtual host.
STACK_DIR ?= var/stack
STACK_NAME ?= fusion_stack
STACK_PORT ?= 8088
stack: $(STAMP)
	@.ci/install-packages || echo "(make stack needs Debian's nginx)"
	$(BIN)/python -m launcher.stack up --dir $(STACK_DIR) --name $(STACK_NAME) --port $(STACK_PORT)

stack-down:
	$(BIN)/python -m launcher.stack down --dir $(STACK_DIR) --name $(STACK_NAME) $(if $(PURGE),--purge)

clean:
	rm -rf var/*.db var/bench
