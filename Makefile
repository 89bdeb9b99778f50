# The two commands of the README's quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install vendor-js translations

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

# The browser softphone's Twilio Voice JavaScript SDK, from the npm registry at
# the version package-lock.json pins, copied with its licence into
# templates/static/vendor/ (committed: the hub serves it itself and the wheel
# ships it; no CDN, no node needed to install the hub). Run after changing
# the version in package.json.
vendor-js:
	npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p templates/static/vendor
	cp node_modules/@twilio/voice-sdk/dist/twilio.min.js templates/static/vendor/twilio-voice.min.js
	cp node_modules/@twilio/voice-sdk/LICENSE.md templates/static/vendor/twilio-voice.LICENSE.md
	node -e 'console.log(require("./node_modules/@twilio/voice-sdk/package.json").version)' > templates/static/vendor/twilio-voice.VERSION

# Translations (README, "Translations"): extract every _()/{% trans %} string into
# the template, merge it into each language's catalogue, compile the .mo files.
# Then fill in the new entries in contactcenter/i18n/locale/*/LC_MESSAGES/messages.po
# and run it again; tests/i18n/test_catalogues.py fails until none is missing or empty.
LOCALES := contactcenter/i18n/locale
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --omit-header -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(LOCALES) --statistics
