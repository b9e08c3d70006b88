# `make deck` builds the deck; `make test` runs lint, types and the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NOTES := notes

.PHONY: deck check stats preview screenshots bench test lint browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps record what has been installed, so a second `make` installs nothing.
$(VENV)/.deck: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.deck

deck: $(VENV)/.deck
	$(BIN)/deckgen build $(NOTES)

check: $(VENV)/.deck
	$(BIN)/deckgen check $(NOTES)

stats: $(VENV)/.deck
	$(BIN)/deckgen stats $(NOTES)

preview: $(VENV)/.test
	$(BIN)/deckgen preview $(NOTES)

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy --strict src

browser:
	scripts/ensure-chromium

# The README's card pictures (docs/*.png), from the current notes and templates.
screenshots: $(VENV)/.test browser
	$(BIN)/python scripts/screenshots.py

# Speed against genanki alone, on synthetic decks of 1,000 to 100,000 notes (a few minutes).
bench: $(VENV)/.test
	$(BIN)/python benchmarks/bench.py

test: lint browser
	$(BIN)/pytest

clean:
	rm -rf $(VENV) dist build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .deckgen_cache
