# Two commands for a newcomer: `make up` (serve the system) and `make test` (pass the tests).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The gateway parity suite compares answers with Apollo Gateway, which runs on Node.
NODE_STAMP := tests/parity/node_modules/.installed-stamp

.PHONY: up test lint load bench report clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): tests/parity/package-lock.json
	npm ci --prefix tests/parity --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

up: $(STAMP)
	$(VENV)/bin/estore up

test: lint $(NODE_STAMP)
	$(PY) -m pytest
	$(PY) -m pytest contracts
	$(PY) -m pytest chaos
	bash tests/real-redis.sh $(PY)

lint: $(STAMP)
	$(VENV)/bin/ruff check platform tests contracts loadtests benchmarks chaos sim reports
	$(VENV)/bin/mypy

# The sale day on one process per service, at the share of its users this 2-core machine serves
# within the gates (loadtests/README.md, "What this machine serves"); LOAD_USER_SCALE=1 for all.
LOAD_USER_SCALE ?= 0.25
load: $(STAMP)
	$(PY) -m loadtests.run --processes --user-scale $(LOAD_USER_SCALE)

# The resilience report, CI-sized: exit 0 go, 1 no-go, 2 no decision (reports/README.md).
report: $(STAMP)
	$(VENV)/bin/estore report --profile quick

bench: $(STAMP)
	$(PY) benchmarks/bench_transport.py
	$(PY) benchmarks/bench_fastmongo.py
	$(PY) benchmarks/bench_fastmongo_writes.py
	$(PY) benchmarks/bench_gateway.py
	$(PY) benchmarks/bench_sim.py
	$(PY) benchmarks/bench_storefront.py
	$(PY) benchmarks/bench_storefront.py --profile benchmarks/profiles
	$(PY) benchmarks/bench_storefront.py --memory

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks
