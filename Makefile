# The two commands of the README's quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install

$(BIN)/contactcenter: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/contactcenter

# Install, load the demo data into the embedded SQLite database (once; a
# second run says how to get a new API token), and serve on :8080.
run: install
	$(BIN)/contactcenter demo
	$(BIN)/contactcenter serve

# Install and run the whole test suite (SQLite and PostgreSQL).
test: install
	$(BIN)/pytest $(PYTEST_ARGS)
