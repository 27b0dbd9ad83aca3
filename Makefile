# The project's commands. `make test` is what CI runs; `make report` is the main job.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
STAMP := $(VENV)/.installed

.PHONY: help venv test lint correctness report matrix clean

help:
	@echo "make report   correctness tier, benchmarks at the seed size, then the report in $(OUT)/"
	@echo "make test     lint, types and every test of the project (what CI runs)"
	@echo "make matrix   the torch-version matrix (tox), an A/B of the two newest, one report"

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest suite -n auto --benchmark-disable -q

correctness: $(STAMP)
	$(PY) -m pytest suite --benchmark-skip -n auto -q

clean:
	rm -rf $(VENV) .tox .pytest_cache .mypy_cache .ruff_cache
