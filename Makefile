# The README's two promises: `make demo` and `make test` set themselves up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck imports unit bench torture clean chromium

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("gitimprove needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

# What the demo needs: gitimprove and its runtime dependencies only. uv installs them several
# times faster than pip (parallel downloads, no build per install); pip when uv cannot be had.
$(BASE): $(BIN)/python pyproject.toml
	@{ $(BIN)/python -m pip install --quiet uv >/dev/null 2>&1 && \
	   $(BIN)/uv pip install --quiet --python $(BIN)/python -e . ; } || \
	 $(BIN)/python -m pip install --quiet -e .
	@touch $(BASE)

# What the tests need besides: the dev tools, Agno, PostgreSQL in a wheel (uv as above, the
# same versions pip resolves; pip when uv is not there). Then the whole environment and the
# package are compiled to bytecode once: the tests start the CLI hundreds of times, and where
# PYTHONDONTWRITEBYTECODE is set (CI) each start would otherwise compile every module it
# imports again (the suite ran twice as long; each `analyze` compiled scipy, 6 s). uv's
# --compile-bytecode compiles only what that one step installs, not numpy and scipy.
$(STAMP): $(BASE)
	@{ test -x $(BIN)/uv && \
	   $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]' ; } || \
	 $(BIN)/python -m pip install --quiet -e '.[dev]'
	@$(BIN)/python -m compileall -q -j 0 gitimprove \
	  "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
	  >/dev/null 2>&1 || echo "note: some files could not be compiled; the tests run slower"
	@touch $(STAMP)

demo: $(BASE)
	$(BIN)/gitimprove demo

# The report's browser test (tests/test_report.py) renders the page in headless Chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the report's browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is missing and this is not root: the report's browser test is skipped"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check gitimprove tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict gitimprove

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) chromium
	$(BIN)/pytest -q -n auto

test: lint typecheck imports unit

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The long torture suites (kills, races, a hostile model); short versions run in `make test`.
torture: $(STAMP)
	$(BIN)/python -m benchmarks.torture

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
