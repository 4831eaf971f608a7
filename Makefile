# Carevoice. `make run` starts everything; `make test` runs the suite. Both need only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test test-fast lint format bench migrations clean citus image image-test

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

run: $(INSTALLED)
	$(PY) -m config.launcher run


# The slow tiers (tests/conftest.py SLOW_TIERS): browsers, killed workers, servers of the
# tests' own, infra, the demo, fuzzing. The rest runs on two pytest-xdist workers, each with
# its own test database and cache keys.
SLOW_TIERS := browser or worker_kill or embedded_server or infra or demo or fuzz or citus
FAST_WORKERS ?= 2
FAST := -m "not ($(SLOW_TIERS))" -n $(FAST_WORKERS) --dist loadgroup

# Everything, as CI runs it: the fast tiers in parallel, then the slow ones one at a time
# (they start workers and servers of their own). With PYTEST_ARGS (say `-k isolation`), one
# run of everything those arguments select, one test at a time.
test: $(INSTALLED)
	$(VENV)/bin/lint-imports
ifeq ($(strip $(PYTEST_ARGS)),)
	$(PY) -m config.launcher test $(FAST)
	$(PY) -m config.launcher test -m "$(SLOW_TIERS)"
else
	$(PY) -m config.launcher test $(PYTEST_ARGS)
endif

# The inner loop: the fast tiers alone.
test-fast: $(INSTALLED)
	$(PY) -m config.launcher test $(FAST) $(PYTEST_ARGS)

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
	$(PY) -m config.launcher exec $(PY) benchmarks/exports.py
	$(PY) -m config.launcher exec $(PY) benchmarks/thanks.py
	$(PY) -m config.launcher exec $(PY) benchmarks/topics.py

# Citus (distributed PostgreSQL) built into the embedded PostgreSQL, for tests/citus and
# benchmarks/citus.py. CITUS_SOURCE: a source tarball (default: the vendored one). Quick when done.
citus: $(INSTALLED)
	VENV=$(VENV) CITUS_SOURCE="$(CITUS_SOURCE)" infra/citus/build.sh

# The production image (infra/Dockerfile; official python:3.11-slim base unless PYTHON_IMAGE
# names another; IMAGE_TAG, default carevoice:latest). Needs Docker with BuildKit.
image:
	$(PYTHON) infra/image_test.py build

# The image built on Debian stand-in bases and the compose stack run from it, end to end;
# starts (and stops) a private dockerd when none answers. infra/README.md, "Container image".
image-test: $(INSTALLED)
	$(PY) infra/image_test.py test

migrations: $(INSTALLED)
	$(PY) -m config.launcher exec $(PY) manage.py makemigrations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
