# The two commands of the README's quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install translations

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

# Translations (README, "Translations"): extract every _()/{% trans %} string into
# the template, merge it into each language's catalogue, compile the .mo files.
# Then fill in the new entries in contactcenter/i18n/locale/*/LC_MESSAGES/messages.po
# and run it again; tests/i18n/test_catalogues.py fails until none is missing or empty.
LOCALES := contactcenter/i18n/locale
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --omit-header -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALES) --statistics
