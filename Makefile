# The project's commands. `make test` is what CI runs; `make report` is the main job.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
STAMP := $(VENV)/.installed

NOTORCH ?= .venv-notorch
NOTORCH_STAMP := $(NOTORCH)/.installed

# The venvs are installed with --no-compile (below): Python writes each module's bytecode the first
# time a process imports it. Where the environment sets PYTHONDONTWRITEBYTECODE (this machine's
# does), nothing would ever be written, and every process would compile torch from source again:
# `import torch` took 3.4 s here without bytecode, 1.5 s with it, and make test starts dozens.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help venv test lint tests-without-torch correctness report matrix loop-bench allocators system-deps clean

help:
	@echo "make report   correctness tier (every core), benchmarks at the seed size (one process), then the report in $(OUT)/"
	@echo "make test     lint, types, the RNN suite (suite/) and the tooling's tests (tests/): what CI runs"
	@echo "make matrix   the torch-version matrix (tox), an A/B of the default (2.13) and the newest (2.15), one report"
	@echo "make loop-bench   time the tier, make test and make report (fresh clones) into docs/runs/loop-times.csv"
	@echo "make allocators   apt-get install jemalloc and tcmalloc for --allocator (as root)"

venv: $(STAMP)

# --no-compile: Python compiles what it imports on first use; compiling all of torch's modules at
# install took about 25 of the install's 54 s here.
# The examples (examples/: fastrnns' LSTM variants through the public case API) are installed too:
# their entry point puts them in every `pytest suite` of this venv, make test's and make report's.
$(STAMP): pyproject.toml constraints.txt examples/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-compile -c constraints.txt -e '.[dev]'
	$(PY) -m pip install -q --no-compile --no-deps -e examples
	touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The compiled-model checks compile each model (slow): make test runs those of numpy_rnn and nn_lstm
# in float32; `pytest suite --backend compile` runs them all.
# The steps before the torch tests (two installs, lint, the torch-free tests) run two at a time.
# tests/reports runs once, in .venv-notorch (it needs no torch). The tooling's tests come first
# and xdist's worksteal rebalances the tail: their slow ones (subprocesses, time limits) start
# while the suite's thousands of short ones fill the gaps.
test:
	$(MAKE) -j2 --output-sync=target --no-print-directory lint system-deps tests-without-torch
	$(PY) -m pytest tests/harness suite -n auto --dist worksteal --benchmark-disable -q --durations=15 \
		--kernel vendor,native
	$(PY) -m pytest suite/test_compiled.py --backend compile --device cpu --dtype float32 \
		-k "numpy_rnn or nn_lstm" -q -p no:cacheprovider

# The reports need no torch: a second venv with the project's dependencies less torch proves it
# (the reports' tests and a report from the committed CUDA run file, there).
$(NOTORCH_STAMP): pyproject.toml
	test -x $(NOTORCH)/bin/python || $(PYTHON) -m venv $(NOTORCH)
	$(NOTORCH)/bin/python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
		print('\n'.join(d for d in deps if not d.startswith('torch')))" > $(NOTORCH)/requirements.txt
	$(NOTORCH)/bin/python -m pip install -q --no-compile -r $(NOTORCH)/requirements.txt
	$(NOTORCH)/bin/python -m pip install -q --no-deps -e .
	touch $(NOTORCH_STAMP)

tests-without-torch: $(NOTORCH_STAMP)
	$(NOTORCH)/bin/python -c "import importlib.util, sys; sys.exit('torch is importable in $(NOTORCH)' if importlib.util.find_spec('torch') else 0)"
	$(NOTORCH)/bin/python -m pytest tests/reports -n auto -q
	$(NOTORCH)/bin/python -m reports build docs/runs/h100-torch2.11.json --out $(OUT)/report-without-torch --force

correctness: $(STAMP)
	$(PY) -m pytest suite --benchmark-skip -n auto -q --kernel vendor,native

# The main job, in three phases: the correctness checks on every core (pytest-xdist; their records
# go to a checks file), the seed-size benchmarks in one process (timings need the machine to
# themselves; the run file also gets the checks file's records), then the report. A failed check
# still gets its report; make exits with the first failing phase's status afterwards. A phase that
# selects nothing (exit 5, e.g. a -k naming only benchmarks) is no failure. Run files are never
# overwritten.
# Both test phases run under python -m suite.isolate (docs/crashes.md): every record is journaled
# as it finishes (out/runs/*.journal.jsonl), a test that crashes or runs past --time-limit (600 s;
# PYTEST_REPORT_ARGS may set another) is recorded against itself and the run goes on. A run cut
# short (kill -9, a power cut) has journals and no run file: the next make report resumes it, runs
# only what did not finish, and says so (RESUME=no starts a new run; a run whose torch build,
# machine or options differ is not resumed).
RUN_ID := $(shell date +%Y%m%d-%H%M%S)
RESUME ?= yes
PYTEST_REPORT_ARGS ?= --size seed --kernel vendor,native
# The benchmarks' length: 5 rounds (pytest-benchmark's own default) of blocks of >= 50 ms, where
# `pytest suite` and the gate take 10 rounds and 0.5 s.
REPORT_TIMING ?= --min-time 0.25 --min-rounds 5
# The benchmarks' selection (a -k in PYTEST_REPORT_ARGS replaces it; `make report REPORT_SELECT=`
# times everything, about twice as long):
# - every case in float32, bfloat16 and float16, both kernels; float64 is checked (phase 1) but not
#   timed (no one runs an RNN in float64 for speed; its 34 benchmarks took 45 s of the phase);
# - the layers' variants (bidir, proj, packed) and the examples (example_*) in float32, the dtype
#   their cost against the plain layer is read in, the variants with the vendor kernel;
# - the built-in layers' one-layer seed shape (H20_L1, timed beside the one-layer cells, which run
#   no fused op and so one kernel) in float32 with the vendor kernel: section (b) pairs each
#   hand-written model with that row;
# - not the torch.compile'd examples (example_compiled_*: 47 s of compiling for 4 benchmarks);
# - the chapter's cells as printed (lstm_cell_seed, gru_cell_seed: defect kept, so not the model a
#   user would time in low precision) in float32 only; the corrected cells run in every dtype.
REPORT_SELECT ?= -k "not float64 and (float32 or not (bidir or proj or packed or example_)) and not (native and (H20_L1 or bidir or proj or packed)) and not ((nn_rnn or nn_lstm or nn_gru) and H20_L1 and not float32) and not example_compiled and not (_seed and not float32)"
# The results store each run is added to (python -m reports history $(STORE) draws the trends).
STORE ?= $(OUT)/store

report: $(STAMP)
	@mkdir -p $(OUT)/runs
	@id=$(RUN_ID); runs=$(OUT)/runs; status=0; t0=$$(date +%s); \
	last=$$(ls -1 $$runs/checks-*.journal.jsonl 2>/dev/null | sort | tail -1); \
	lid=$${last#$$runs/checks-}; lid=$${lid%.journal.jsonl}; \
	if [ "$(RESUME)" = yes ] && [ -n "$$last" ] && [ ! -e $$runs/run-$$lid.json ]; then id=$$lid; \
		echo "make report: resuming the unfinished run $$id (only what did not finish runs; RESUME=no starts a new run)"; fi; \
	run=$$runs/run-$$id.json; checks=$$runs/checks-$$id.json; \
	resume() { test -e $$1 && echo "--resume $$1"; }; \
	echo "make report: phase 1 of 3, the correctness checks on every core"; \
	phase1() { $(PY) -m suite.isolate suite -m correctness -n auto --max-worker-restart=1000 -q -p no:cacheprovider \
		--benchmark-disable --checks-json=$$checks $(PYTEST_REPORT_ARGS) $$(resume $$runs/checks-$$id.journal.jsonl); }; \
	phase1; s=$$?; \
	if [ $$s -eq 4 ] && [ $$id != $(RUN_ID) ]; then \
		echo "make report: run $$id cannot be resumed (above); starting a new run"; \
		id=$(RUN_ID); run=$$runs/run-$$id.json; checks=$$runs/checks-$$id.json; phase1; s=$$?; fi; \
	test $$s -eq 5 || test $$s -eq 0 || status=$$s; \
	test -s $$checks || { echo "error: no checks file was written ($$checks)" >&2; exit 2; }; \
	t1=$$(date +%s); echo "make report: phase 1 took $$((t1 - t0)) s; phase 2 of 3, the benchmarks in one process"; \
	$(PY) -m suite.isolate suite/test_speed.py -m speed -q -p no:cacheprovider --benchmark-quiet \
		--benchmark-columns=median,iqr,rounds --benchmark-sort=fullname --checks-from=$$checks \
		--benchmark-json=$$run $(REPORT_TIMING) $(REPORT_SELECT) $(PYTEST_REPORT_ARGS) \
		$$(resume $$runs/run-$$id.journal.jsonl) || { s=$$?; test $$s -eq 5 || test $$status -ne 0 || status=$$s; }; \
	test -s $$run || { echo "error: no run file was written ($$run)" >&2; exit 2; }; \
	t2=$$(date +%s); echo "make report: phase 2 took $$((t2 - t1)) s; phase 3 of 3, the report"; \
	$(PY) -m reports store add $(STORE) $$run || exit $$?; \
	$(PY) -m reports build $$run --out $(OUT)/report --force || exit $$?; \
	echo "make report: phase 3 took $$(($$(date +%s) - t2)) s"; \
	exit $$status

# The torch-version matrix (tox.ini): each version's run file, an interleaved A/B of the default
# (MATRIX_A) and the newest (MATRIX_B), and one report with the versions side by side. The A/B's
# exit 1 (slower) and 3 (inconclusive) still build the report.
MATRIX_ENVS ?= py311-torch2.13,py311-torch2.14,py311-torch2.15
MATRIX_A ?= py311-torch2.13
MATRIX_B ?= py311-torch2.15
AB_ARGS ?= -m speed --device cpu --size seed --dtype float32,bfloat16 --min-time 0.2 --threads 1

matrix: $(STAMP)
	$(PY) -m tox -e $(MATRIX_ENVS)
	$(PY) -m suite.ab --a .tox/$(MATRIX_A)/bin/python --b .tox/$(MATRIX_B)/bin/python \
		--out $(OUT)/matrix/ab $(AB_ARGS) || { s=$$?; test $$s -eq 1 || test $$s -eq 3; }
	$(PY) -m reports build $(OUT)/matrix/$(MATRIX_A).json $(OUT)/matrix/$(MATRIX_B).json \
		--ab $(OUT)/matrix/ab/a.json $(OUT)/matrix/ab/b.json --out $(OUT)/matrix/report --force

# The development loop's own benchmark (scripts/loop_bench.py): the correctness tier (serial), then
# make test and make report from fresh clones of HEAD, each appended to docs/runs/loop-times.csv
# beside the last row of this machine, so that a change that slows the loop shows up.
loop-bench: $(STAMP)
	$(PY) scripts/loop_bench.py

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
