# Two commands do everything on a fresh machine: `make demo` and `make test`.
# The Makefile finds a Python 3.12+ itself: PATH first, then pyenv's versions.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# numba's cache of the compiled kernels (in sim/model/__pycache__), written once after set-up
# and again whenever a compiled source changes, so that no run waits for the compiler.
WARM := $(VENV)/.warm
COMPILED := $(wildcard sim/model/kernels.py sim/model/mechanisms.py sim/model/learning.py sim/model/trust.py sim/model/measures.py sim/model/structure.py)

FIND_PYTHON = for c in python3.12 python3.13 python3.14 python3 python $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV); do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
	    command -v $$c; exit 0; fi; done; exit 1

.PHONY: setup demo test lint bench clean app room browser

setup: $(STAMP) $(WARM)

$(STAMP): pyproject.toml
	@base=$$( $(FIND_PYTHON) ) || { \
	  echo "error: trustsim needs Python 3.12 or newer (Mesa 3.5 requires it), and none was found on PATH or under pyenv." >&2; \
	  echo "       Install one, for example 'pyenv install 3.12' or 'apt-get install python3.12', then run make again." >&2; \
	  exit 1; }; \
	echo "using $$base ($$($$base --version))"; \
	test -x $(PY) || $$base -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(WARM): $(STAMP) $(COMPILED)
	@echo "compiling the model's kernels once (numba caches them in sim/model/__pycache__)"
	@$(PY) -c 'from sim.model.fast import warm_up; warm_up()'
	@touch $(WARM)

# The flagship comparison: six coaching regimes, 100 paired replications each.
# Runs again only what is missing (--resume), so a second `make demo` just reprints.
demo: setup
	$(VENV)/bin/trustsim sweep experiments/sponsorship_vs_peer.toml --out results/demo --resume

lint: setup
	$(VENV)/bin/ruff check sim tests benchmarks examples
	$(VENV)/bin/ruff format --check sim tests benchmarks examples
	$(VENV)/bin/mypy

# The app's browser tests drive Debian's chromium (Playwright downloads no browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null)) || { \
	  echo "error: could not install chromium; as root run: apt-get install chromium" >&2; exit 1; }; }

# Every core; a test module's tests stay together, so its module fixtures run once.
test: setup lint browser
	$(VENV)/bin/pytest -n auto --dist loadscope

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The workshop web app, on http://127.0.0.1:8765
app: setup
	$(VENV)/bin/trustsim app

# A workshop room that phones on the local network join (trustsim app --room --lan)
room: setup
	$(VENV)/bin/trustsim app --room --lan
