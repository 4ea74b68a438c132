# The two commands: `make run` starts the system, `make test` runs the whole suite.
# Both first set up what a fresh machine lacks (OS packages, PostgreSQL,
# RabbitMQ, the virtualenv and its pinned packages).

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

export PYTHONWARNINGS ?= ignore

.PHONY: run test test-plain setup infra bench clean

# A development run: the mail box at /dev/mail (INNOBASE_DEV=0 turns it off).
run: export INNOBASE_DEV ?= 1
run: setup
	$(PY) -m innobase.cli anchors keygen --if-missing
	$(PY) -m innobase.supervisor

test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)
ifeq ($(PYTEST_ARGS),)
	@$(MAKE) --no-print-directory test-plain
endif

# The event store's plain path: the integration and fault tests again, every speed-up off.
test-plain: setup
	INNOBASE_FAST_PATH=0 $(PY) -m pytest -q tests/integration tests/faults

bench: setup
	$(PY) -m benchmarks.propagation
	$(PY) -m benchmarks.gateway
	$(PY) -m benchmarks.portal
	$(PY) -m benchmarks.printing

setup: infra $(STAMP)

infra:
	@bash deploy/bootstrap.sh

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "setup: Python packages installed in $(VENV)"

clean:
	rm -rf $(VENV) .pytest_cache
