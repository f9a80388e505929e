# Two commands on a fresh machine: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench bundle clean

# llama-cpp-python comes from the project's own recipe (packaging/build_llama.py): built for this
# CPU without AMX, never from a pip cache that ignores CMAKE_ARGS. pip then sees the pinned
# version installed and leaves it alone.
$(STAMP): pyproject.toml packaging/build_llama.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) packaging/build_llama.py --profile host
	$(PY) -m pip install -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/qwq-desktop $(ARGS)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

# The Linux bundle (portable llama.cpp), checked, self-tested offscreen and packed: dist/.
bundle:
	packaging/build.sh

clean:
	rm -rf $(VENV) build *.egg-info
