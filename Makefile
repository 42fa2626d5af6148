# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv and install on first use. torch==2.13.0 goes in first so
# that nothing later resolves a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint mutation bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,deep]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/healthforge demo --out demo-output --force

test: $(STAMP)
	$(BIN)/python -m pytest -q

# each deliberate breakage of a privacy guarantee (tests/mutations) must fail a test
mutation: $(STAMP)
	PYTHONPATH=. $(BIN)/python -m tests.mutations.run

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) demo-output
