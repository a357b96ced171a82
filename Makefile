# 怀化便民服务登记系统 — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
BENCHSTAMP := $(VENV)/.installed-bench
SCALE ?= province
BENCH_OUT ?= var/bench-$(SCALE)$(if $(BENCH_DATABASE_URL),-postgres).json

.PHONY: run test test-pythons check bench soak audit lint clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TESTSTAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(STAMP)

## make run: set up, migrate, seed the demo if the database is empty, print demo accounts, serve.
run: $(STAMP)
	$(BIN)/registry migrate
	$(BIN)/registry seed --demo --if-empty
	$(BIN)/registry serve

## make test: the whole suite (PostgreSQL tests run when a server answers on 127.0.0.1:5432).
## Tests run in TEST_WORKERS processes (pytest-xdist); much of a test's time is database I/O.
## The tests that assert a latency (marker `timed`) run afterwards, alone: on a machine busy
## with the other tests their figures would measure the other tests.
## A worker that crashes ends the run (--max-worker-restart 0): pytest-xdist's loadgroup
## scheduling can wait forever after it replaces a crashed worker (pytest-xdist #1323, #1378).
TEST_WORKERS ?= 3
test: $(TESTSTAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --max-worker-restart 0 -m "not timed"
	$(BIN)/python -m pytest -q -m timed

## make test-pythons: the suite (without the browser and latency tests) on every other supported
## Python found (python3.12, python3.13, or PYTHONS="…"), each in its own .venv-<version>.
PYTHONS ?= $(foreach v,3.12 3.13,$(firstword $(shell python$(v) -c 'import sys; print(sys.executable)' 2>/dev/null) $(wildcard $(HOME)/.pyenv/versions/$(v).*/bin/python$(v))))
test-pythons:
	@test -n "$(PYTHONS)" || { echo "no python3.12 or python3.13 found"; exit 1; }
	set -e; for py in $(PYTHONS); do \
		v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		test -x .venv-$$v/bin/python || $$py -m venv .venv-$$v; \
		.venv-$$v/bin/python -m pip install --quiet -e ".[test]"; \
		echo "== Python $$v"; \
		.venv-$$v/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not timed and not e2e" -p no:cacheprovider; \
	done

$(BENCHSTAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

## make bench [SCALE=city|province] [BENCH_DATABASE_URL=postgresql://…/postgres]: real server,
## separate client processes; prints a table and writes $(BENCH_OUT).
bench: $(BENCHSTAMP)
	mkdir -p var
	$(BIN)/registry bench --scale $(SCALE) --out $(BENCH_OUT) \
		$(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

## make soak: the full load run, 200 concurrent clients for 60 s per engine against a real
## server (SQLite, and PostgreSQL when it answers on 127.0.0.1:5432); prints the numbers.
soak: $(TESTSTAMP)
	$(BIN)/python -m tests.load.harness --clients $${SOAK_CLIENTS:-200} --seconds $${SOAK_SECONDS:-60}

## make audit: known vulnerabilities of the installed dependencies (pip-audit; needs the
## network, so it is not a CI gate). --strict: a dependency it could not check is a failure,
## not a silent pass.
audit: $(TESTSTAMP)
	$(BIN)/python -m pip install --quiet -e ".[audit]"
	$(BIN)/python -m pip_audit --strict --skip-editable --progress-spinner off

## make lint: ruff and the architecture's import contracts (import-linter).
lint: $(TESTSTAMP)
	$(BIN)/python -m ruff check registry geo seed tests tools
	$(BIN)/python -m ruff format --check registry geo seed tests tools
	$(BIN)/lint-imports

## make check: the fast loop (under a minute): lint, import contracts and the unit tests.
check: lint
	$(BIN)/python -m pytest -q tests/unit

clean:
	rm -rf $(VENV) build *.egg-info
