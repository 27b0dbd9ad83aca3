# The project's commands. `make test` is what CI runs; `make report` is the main job.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
STAMP := $(VENV)/.installed

NOTORCH ?= .venv-notorch
NOTORCH_STAMP := $(NOTORCH)/.installed

.PHONY: help venv test lint tests-without-torch correctness report matrix allocators system-deps clean

help:
	@echo "make report   correctness tier, benchmarks at the seed size, then the report in $(OUT)/"
	@echo "make test     lint, types, the RNN suite (suite/) and the tooling's tests (tests/): what CI runs"
	@echo "make matrix   the torch-version matrix (tox), an A/B of the default (2.13) and the newest (2.15), one report"
	@echo "make allocators   apt-get install jemalloc and tcmalloc for --allocator (as root)"

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

# The compiled-model checks compile each model (slow): make test runs those of numpy_rnn and nn_lstm
# in float32; `pytest suite --backend compile` runs them all.
test: lint system-deps tests-without-torch
	$(PY) -m pytest suite tests -n auto --benchmark-disable -q --durations=15 --kernel vendor,native
	$(PY) -m pytest suite/test_compiled.py --backend compile --device cpu --dtype float32 \
		-k "numpy_rnn or nn_lstm" -q -p no:cacheprovider

# The reports need no torch: a second venv with the project's dependencies less torch proves it
# (the reports' tests and a report from the committed CUDA run file, there).
$(NOTORCH_STAMP): pyproject.toml
	test -x $(NOTORCH)/bin/python || $(PYTHON) -m venv $(NOTORCH)
	$(NOTORCH)/bin/python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
		print('\n'.join(d for d in deps if not d.startswith('torch')))" > $(NOTORCH)/requirements.txt
	$(NOTORCH)/bin/python -m pip install -q -r $(NOTORCH)/requirements.txt
	$(NOTORCH)/bin/python -m pip install -q --no-deps -e .
	touch $(NOTORCH_STAMP)

tests-without-torch: $(NOTORCH_STAMP)
	$(NOTORCH)/bin/python -c "import importlib.util, sys; sys.exit('torch is importable in $(NOTORCH)' if importlib.util.find_spec('torch') else 0)"
	$(NOTORCH)/bin/python -m pytest tests/reports -n auto -q
	$(NOTORCH)/bin/python -m reports build docs/runs/h100-torch2.11.json --out $(OUT)/report-without-torch --force

correctness: $(STAMP)
	$(PY) -m pytest suite --benchmark-skip -n auto -q --kernel vendor,native

# The main job: correctness tier and seed-size benchmarks in one serial run (one run file that
# holds both the timings and the errors seen), then the report. A failed check still gets its
# report; make exits with pytest's status afterwards. Run files are never overwritten.
RUN = $(OUT)/runs/run-$(shell date +%Y%m%d-%H%M%S).json
PYTEST_REPORT_ARGS ?= --size seed --kernel vendor,native
# The results store each run is added to (python -m reports history $(STORE) draws the trends).
STORE ?= $(OUT)/store

report: $(STAMP)
	@mkdir -p $(OUT)/runs
	@run=$(RUN); status=0; \
	$(PY) -m pytest suite -m "correctness or speed" -q -p no:cacheprovider --benchmark-quiet \
		--benchmark-columns=median,iqr,rounds --benchmark-sort=fullname \
		--benchmark-json=$$run $(PYTEST_REPORT_ARGS) || status=$$?; \
	test -s $$run || { echo "error: no run file was written ($$run)" >&2; exit 2; }; \
	$(PY) -m reports store add $(STORE) $$run || exit $$?; \
	$(PY) -m reports build $$run --out $(OUT)/report --force || exit $$?; \
	exit $$status

# The torch-version matrix (tox.ini): each version's run file, an interleaved A/B of the default
# (MATRIX_A) and the newest (MATRIX_B), and one report with the versions side by side. The A/B's
# exit 1 (slower) and 3 (inconclusive) still build the report.
MATRIX_ENVS ?= py311-torch2.13,py311-torch2.14,py311-torch2.15
MATRIX_A ?= py311-torch2.13
MATRIX_B ?= py311-torch2.15
AB_ARGS ?= -m speed --device cpu --size seed --dtype float32,bfloat16 --min-time 0.2 --threads 1 --no-cold

matrix: $(STAMP)
	$(PY) -m tox -e $(MATRIX_ENVS)
	$(PY) -m suite.ab --a .tox/$(MATRIX_A)/bin/python --b .tox/$(MATRIX_B)/bin/python \
		--out $(OUT)/matrix/ab $(AB_ARGS) || { s=$$?; test $$s -eq 1 || test $$s -eq 3; }
	$(PY) -m reports build $(OUT)/matrix/$(MATRIX_A).json $(OUT)/matrix/$(MATRIX_B).json \
		--ab $(OUT)/matrix/ab/a.json $(OUT)/matrix/ab/b.json --out $(OUT)/matrix/report --force

# The allocators of --allocator (Debian's packages; as root). Their tests skip where these are absent.
SYSTEM_PACKAGES := libjemalloc2 libtcmalloc-minimal4
allocators:
	apt-get update
	apt-get install -y $(SYSTEM_PACKAGES)

# What make test exercises when it can: installed as root with apt-get where a package is missing;
# elsewhere (no root, no apt) a note, and the tests that need a package skip with the reason.
system-deps:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null || echo "note: could not install $(SYSTEM_PACKAGES)"; \
	else echo "note: $(SYSTEM_PACKAGES) not installed (make allocators, as root); their tests skip"; fi

clean:
	rm -rf $(VENV) $(NOTORCH) .tox .pytest_cache .mypy_cache .ruff_cache
