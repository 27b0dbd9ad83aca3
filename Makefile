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

.PHONY: help venv test lint tests-without-torch torch-tests compiled-checks correctness report matrix loop-bench allocators system-deps clean zoo zoo-fast

help:
	@echo "make report   correctness tier (every core), benchmarks at the seed size (one process), then the report in $(OUT)/"
	@echo "make test     lint, types, the RNN suite (suite/) and the tooling's tests (tests/): what CI runs"
	@echo "make matrix   the torch-version matrix (tox), an A/B of the default (2.13) and the newest (2.15), one report"
	@echo "make loop-bench   time the tier, make test and make report (fresh clones) into lab/runs/loop-times.csv"
	@echo "make allocators   apt-get install jemalloc and tcmalloc for --allocator (as root)"
	@echo "make zoo      the zoo (zoo/, docs/zoo.md): third-party RNN packages checked and timed, its report in $(OUT)/zoo/"

venv: $(STAMP)

# One process imports what the test processes import and so writes its bytecode once (the installs are
# --no-compile): else the dozens of processes a fresh clone's make test starts at once each compile torch
# and pandas from source, all together. What it saves: docs/notes/make-costs.md.
WARM_REPORTS := import pandas, scipy.stats, matplotlib.pyplot, jinja2, pytest, xdist, pytest_benchmark, hypothesis, \
	rnnsuite.cli, rnnsuite.reports.output.build, rnnsuite.reports.runs.history
WARM := $(WARM_REPORTS), torch, torch.utils.benchmark, rnnsuite.cases, rnnsuite.suite.plugin.hooks, \
	rnnsuite.suite.measure.cold, rnnsuite_examples.cases

# --no-compile: Python compiles what it imports on first use; compiling all of torch's modules at
# install took about 25 of the install's 54 s here.
# The examples (examples/: fastrnns' LSTM variants through the public case API) are installed too:
# their entry point puts them in every `pytest suite` of this venv, make test's and make report's.
$(STAMP): pyproject.toml constraints.txt examples/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-compile -c constraints.txt -e '.[dev]'
	$(PY) -m pip install -q --no-compile --no-deps -e examples
	$(PY) -c "$(WARM)"
	touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The torch tests run beside the other installs, lint and the torch-free tests, three at a time (the
# installs wait on pip more than on the CPU, which the torch tests then fill); the compiled checks and
# the zoo's part follow, two at a time. They include the slower
# tier (--slow-tier: the checks at the edges of each dtype, suite/test_edges.py, with the first kernel
# asked), which `pytest suite` leaves out.
# tests/reports runs once, in .venv-notorch (it needs no torch). The tooling's tests come first
# and xdist's worksteal rebalances the tail: their slow ones (subprocesses, time limits) start
# while the suite's thousands of short ones fill the gaps.
test:
	$(MAKE) -j3 --output-sync=target --no-print-directory torch-tests lint system-deps tests-without-torch \
		$(ZOO_FAST_STAMP)
	$(MAKE) -j2 --output-sync=target --no-print-directory compiled-checks zoo-fast

torch-tests: $(STAMP)
	$(PY) -m pytest tests/harness suite -n auto --dist worksteal --benchmark-disable -q --durations=15 \
		--kernel vendor,native --slow-tier

# The compiled-model checks compile each model (slow): make test runs those of numpy_rnn and nn_lstm
# in float32; `pytest suite --backend compile` runs them all.
compiled-checks: $(STAMP)
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
	$(NOTORCH)/bin/python -m pip install -q --no-compile "hypothesis>=6.100"  # tests/reports fuzz the readers
	$(NOTORCH)/bin/python -c "$(WARM_REPORTS)"
	touch $(NOTORCH_STAMP)

tests-without-torch: $(NOTORCH_STAMP)
	$(NOTORCH)/bin/python -c "import importlib.util, sys; sys.exit('torch is importable in $(NOTORCH)' if importlib.util.find_spec('torch') else 0)"
	$(NOTORCH)/bin/python -m pytest tests/reports -n auto -q
	$(NOTORCH)/bin/rnnsuite build docs/runs/h100-torch2.11.json --out $(OUT)/report-without-torch --force

correctness: $(STAMP)
	$(PY) -m pytest suite --benchmark-skip -n auto -q --kernel vendor,native

# The main job: rnnsuite report (suite/commands/main_job.py: the checks on every core, the benchmarks in one
# process, then the store and the report in $(OUT)/report). A run cut short is resumed by the next make
# report (RESUME=no starts a new run). PYTEST_REPORT_ARGS go to pytest in both test phases (a -k there
# replaces the benchmarks' selection; REPORT_SELECT= times everything, about twice as long).
RESUME ?= yes
PYTEST_REPORT_ARGS ?=
REPORT_FLAGS := --out $(OUT) $(if $(filter no,$(RESUME)),--new) $(if $(STORE),--store $(STORE)) \
	$(if $(filter undefined,$(origin REPORT_SELECT)),,--select "$(REPORT_SELECT)")

report: $(STAMP)
	$(VENV)/bin/rnnsuite report $(REPORT_FLAGS) -- $(PYTEST_REPORT_ARGS)

# The torch-version matrix (tox.ini): each version's run file, an interleaved A/B of the default
# (MATRIX_A) and the newest (MATRIX_B), and one report with the versions side by side. The A/B's
# exit 1 (slower) and 3 (inconclusive) still build the report.
MATRIX_ENVS ?= py311-torch2.13,py311-torch2.14,py311-torch2.15
MATRIX_A ?= py311-torch2.13
MATRIX_B ?= py311-torch2.15
AB_ARGS ?= -m speed --device cpu --size chapter --dtype float32,bfloat16 --min-time 0.2 --threads 1

matrix: $(STAMP)
	$(PY) -m tox -e $(MATRIX_ENVS)
	$(VENV)/bin/rnnsuite ab --a .tox/$(MATRIX_A)/bin/python --b .tox/$(MATRIX_B)/bin/python \
		--out $(OUT)/matrix/ab $(AB_ARGS) || { s=$$?; test $$s -eq 1 || test $$s -eq 3; }
	$(VENV)/bin/rnnsuite build $(OUT)/matrix/$(MATRIX_A).json $(OUT)/matrix/$(MATRIX_B).json \
		--ab $(OUT)/matrix/ab/a.json $(OUT)/matrix/ab/b.json --out $(OUT)/matrix/report --force

# The development loop's own benchmark (lab/loop_bench.py): the correctness tier (serial), then
# make test and make report from fresh clones of HEAD, each appended to lab/runs/loop-times.csv
# beside the last row of this machine, so that a change that slows the loop shows up.
loop-bench: $(STAMP)
	$(PY) lab/loop_bench.py

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

# The zoo (zoo/, docs/zoo.md): a venv of its own with torch 2.13.0 from constraints.txt (pip never pulls
# another torch), rnnsuite and the zoo (editable) with the zoo's pinned packages; xlstm with --no-deps
# (its mlstm_kernels is for kernels the zoo does not check). Then every zoo layer's checks, their
# reproducers (tests/zoo), a float32 forward timing beside the built-ins, and `rnnsuite zoo`'s report.
# The checks run from an empty folder: a user's session, not this repository's pytest configuration.
# --slow-tier: the checks at the edges (saturated inputs, 1,000 steps) too, which the tier leaves out.
ZOO ?= .venv-zoo
ZOO_STAMP := $(ZOO)/.installed
ZOO_OUT ?= $(OUT)/zoo
ZOO_MODULES := rnnsuite_zoo.mingru,rnnsuite_zoo.ncps,rnnsuite_zoo.mambapy,rnnsuite_zoo.sru,rnnsuite_zoo.xlstm
ZOO_BENCH := -m speed --device cpu --dtype float32 --size chapter --pass fwd --min-time 0.1 -p no:cacheprovider -q

$(ZOO_STAMP): pyproject.toml constraints.txt zoo/pyproject.toml
	test -x $(ZOO)/bin/python || $(PYTHON) -m venv $(ZOO)
	$(ZOO)/bin/python -m pip install -q --upgrade pip
	$(ZOO)/bin/python -m pip install -q --no-compile -c constraints.txt -e . -e 'zoo[full]'
	$(ZOO)/bin/python -m pip install -q --no-compile -c constraints.txt --no-deps xlstm==2.0.6
	touch $(ZOO_STAMP)

zoo: $(ZOO_STAMP)
	mkdir -p $(ZOO_OUT)/run
	$(ZOO)/bin/python -c "import sru"  # compiles sru's CPU kernel once (about 50 s), before the parallel workers
	cd $(ZOO_OUT)/run && $(CURDIR)/$(ZOO)/bin/python -m pytest --rnnsuite $(ZOO_MODULES) -m correctness --slow-tier \
		--benchmark-disable -p no:cacheprovider -n auto -q --device cpu --checks-json ../checks.json \
		|| echo "make zoo: some zoo checks failed (the report says which)"
	$(ZOO)/bin/python -m pytest tests/zoo -q -p no:cacheprovider
	cd $(ZOO_OUT)/run && $(CURDIR)/$(ZOO)/bin/python -m pytest --rnnsuite $(ZOO_MODULES) $(ZOO_BENCH) \
		--benchmark-json ../zoo-run.json
	$(ZOO)/bin/python -m pytest suite/test_speed.py $(ZOO_BENCH) --benchmark-json $(ZOO_OUT)/builtins-run.json \
		-k "nn_rnn-cpu or nn_lstm-cpu or nn_gru-cpu"
	$(ZOO)/bin/python -m rnnsuite_zoo.manifest $(ZOO_OUT)/manifest.json
	$(ZOO)/bin/rnnsuite zoo --checks $(ZOO_OUT)/checks.json --manifest $(ZOO_OUT)/manifest.json \
		--run $(ZOO_OUT)/zoo-run.json --run $(ZOO_OUT)/builtins-run.json --out $(ZOO_OUT)

# make test's part of the zoo: the packages that install in seconds (pure Python, nothing compiled at
# import: mingru-pytorch, ncps, mambapy) in a venv that reuses .venv's site-packages (torch and rnnsuite
# are not installed twice), their cases checked in float64 and float32 and their reproducers run.
# Left out: sru (compiles its kernel at first import), xlstm (installed --no-deps), bfloat16/float16, timing.
ZOO_FAST ?= .venv-zoo-fast
ZOO_FAST_STAMP := $(ZOO_FAST)/.installed

$(ZOO_FAST_STAMP): $(STAMP) zoo/pyproject.toml
	test -x $(ZOO_FAST)/bin/python || $(PYTHON) -m venv --without-pip $(ZOO_FAST)
	$(PY) -c "import site, sysconfig; print('import site; site.addsitedir(%r)' % sysconfig.get_paths()['purelib'])" \
		> $$($(ZOO_FAST)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/zz-main-venv.pth
	$(PY) -m pip install -q --no-compile --no-deps --target $$($(ZOO_FAST)/bin/python -c "import sysconfig; \
		print(sysconfig.get_paths()['purelib'])") mingru-pytorch==0.2.1 einops ncps==1.0.1 mambapy==1.2.0 future
	touch $(ZOO_FAST_STAMP)

# The package is reached through a link in a folder of its own: zoo/ may hold the egg-info of make zoo's
# editable install, whose entry points would load every zoo module (sru and xlstm too) into the session.
zoo-fast: $(ZOO_FAST_STAMP)
	mkdir -p $(OUT)/zoo-fast/path
	ln -sfn $(CURDIR)/zoo/rnnsuite_zoo $(OUT)/zoo-fast/path/rnnsuite_zoo
	cd $(OUT)/zoo-fast && PYTHONPATH=$(CURDIR)/$(OUT)/zoo-fast/path $(CURDIR)/$(ZOO_FAST)/bin/python -m pytest \
		--rnnsuite rnnsuite_zoo.mingru,rnnsuite_zoo.ncps,rnnsuite_zoo.mambapy -m correctness --benchmark-disable \
		-p no:cacheprovider -n 2 -q --device cpu --dtype float64,float32 -k "not (test_gradcheck and zoo_mamba)"
	$(ZOO_FAST)/bin/python -m pytest tests/zoo -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(NOTORCH) $(ZOO) $(ZOO_FAST) .tox .pytest_cache .mypy_cache .ruff_cache
