# Two commands for a newcomer: `make up` (serve the system) and `make test` (pass the tests).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: up test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP)
	$(VENV)/bin/estore up

test: $(STAMP)
	$(PY) -m pytest
	bash tests/real-redis.sh $(PY)

lint: $(STAMP)
	$(VENV)/bin/ruff check platform tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/bench_transport.py
	$(PY) benchmarks/bench_fastmongo.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks
