# `make run` serves the demo on SQLite with gunicorn; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

CHROMIUM := /usr/bin/chromium

.PHONY: run test check setup clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

setup: $(VENV)/.installed-run
	$(BIN)/flask --app wsgi shanhai setup

run: setup
	PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

# The scan-page test drives Debian's Chromium; Playwright never downloads a browser of its own.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei libcairo2 >/dev/null; \
	else \
		echo "NOTE: $(CHROMIUM) is missing and we are not root: install Debian's chromium" \
		     "(sudo apt-get install chromium); the browser test skips locally and fails under CI=true" >&2; \
	fi

# Lint and format (ruff), types (mypy), the layers' import contracts (import-linter).
check: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
