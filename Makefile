# Carevoice. `make run` starts everything; `make test` runs the suite. Both need only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test test-fast lint format bench migrations clean

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

run: $(INSTALLED)
	$(PY) -m config.launcher run

test: $(INSTALLED)
	$(VENV)/bin/lint-imports
	$(PY) -m config.launcher test $(PYTEST_ARGS)

# The inner loop: the suite without its slow tiers (browsers, killed workers, servers of the
# tests' own, infra, the demo, fuzzing; tests/conftest.py SLOW_TIERS), on two pytest-xdist
# workers, each with its own test database. `make test` runs everything, as CI does.
SLOW_TIERS := browser or worker_kill or embedded_server or infra or demo or fuzz
FAST_WORKERS ?= 2
test-fast: $(INSTALLED)
	$(PY) -m config.launcher test -m "not ($(SLOW_TIERS))" -n $(FAST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

format: $(INSTALLED)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(INSTALLED)
	$(PY) -m config.launcher exec $(PY) benchmarks/provisioning.py
	$(PY) -m config.launcher exec $(PY) benchmarks/public_read.py
	$(PY) -m config.launcher exec $(PY) benchmarks/alerts.py
	$(PY) -m config.launcher exec $(PY) benchmarks/dashboards.py
	$(PY) -m config.launcher exec $(PY) benchmarks/webhooks.py
	$(PY) -m config.launcher exec $(PY) benchmarks/load.py
	$(PY) -m config.launcher exec $(PY) benchmarks/analysers.py
	$(PY) benchmarks/pii_detector.py

migrations: $(INSTALLED)
	$(PY) -m config.launcher exec $(PY) manage.py makemigrations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
