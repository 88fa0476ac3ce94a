# kikan-hub — two commands do all the set-up on a fresh machine:
#   make demo   a complete 住民記録 migration rehearsal on the bundled sample (SQLite)
#   make test   the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
KIKAN  := $(VENV)/bin/kikan
DEMO_DIR ?= var/demo
DEMO_RESIDENTS ?= 2000

.PHONY: demo test test-fast bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# The tests also need their extras (pytest, hypothesis, schemathesis, Great Expectations …).
$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(KIKAN) sample --residents $(DEMO_RESIDENTS) --out $(DEMO_DIR)/extract --seed 42
	$(KIKAN) rehearse $(DEMO_DIR)/extract/manifest.yaml --store sqlite:///$(DEMO_DIR)/kikan.db --run-dir $(DEMO_DIR)/run

# PostgreSQL (a throwaway cluster when installed) and Chromium are found by tests/kikan_testenv.py;
# -rs lists every skip with its one-line reason (none under CI=true: a missing part fails there).
# lint-imports checks the arrow of dependencies ([tool.importlinter] in pyproject.toml) first.
test: $(VENV)/.installed-test
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -rfEs -n 2

test-fast: $(VENV)/.installed-test
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n 2 -m "not slow"

bench: $(VENV)/.installed-test
	$(PY) bench/rehearsal.py

clean:
	rm -rf var .pytest_cache
