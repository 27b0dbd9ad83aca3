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
	$(PY) -m pytest suite -n auto --benchmark-disable -q --durations=15 --kernel vendor,native

correctness: $(STAMP)
	$(PY) -m pytest suite --benchmark-skip -n auto -q --kernel vendor,native

# The main job: correctness tier and seed-size benchmarks in one serial run (one run file that
# holds both the timings and the errors seen), then the report. A failed check still gets its
# report; make exits with pytest's status afterwards. Run files are never overwritten.
RUN = $(OUT)/runs/run-$(shell date +%Y%m%d-%H%M%S).json
PYTEST_REPORT_ARGS ?= --size seed --kernel vendor,native

report: $(STAMP)
	@mkdir -p $(OUT)/runs
	@run=$(RUN); status=0; \
	$(PY) -m pytest suite -m "correctness or speed" -q -p no:cacheprovider --benchmark-quiet \
		--benchmark-columns=median,iqr,rounds --benchmark-sort=fullname \
		--benchmark-json=$$run $(PYTEST_REPORT_ARGS) || status=$$?; \
	test -s $$run || { echo "error: no run file was written ($$run)" >&2; exit 2; }; \
	$(PY) -m reports build $$run --out $(OUT)/report --force || exit $$?; \
	exit $$status

# The torch-version matrix (tox.ini): each version's run file, an interleaved A/B of the two
# newest, and one report with the versions side by side.
MATRIX_ENVS ?= py311-torch2.13,py311-torch2.14
MATRIX_A ?= py311-torch2.13
MATRIX_B ?= py311-torch2.14
AB_ARGS ?= -m speed --device cpu --size seed --dtype float32,bfloat16 --min-time 0.2 --threads 1

matrix: $(STAMP)
	$(PY) -m tox -e $(MATRIX_ENVS)
	$(PY) -m suite.ab --a .tox/$(MATRIX_A)/bin/python --b .tox/$(MATRIX_B)/bin/python \
		--out $(OUT)/matrix/ab $(AB_ARGS) || test $$? -eq 1
	$(PY) -m reports build $(OUT)/matrix/$(MATRIX_A).json $(OUT)/matrix/$(MATRIX_B).json \
		--ab $(OUT)/matrix/ab/a.json $(OUT)/matrix/ab/b.json --out $(OUT)/matrix/report --force

clean:
	rm -rf $(VENV) .tox .pytest_cache .mypy_cache .ruff_cache
