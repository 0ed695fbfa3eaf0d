# Postboard: `make dev` runs everything, `make test` tests everything.
# Needs only Python 3.11+; the virtualenv lives in .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev prod nginx test install lint browser clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

dev: install
	@$(BIN)/postboard dev

# Production mode: the front end built once, WEB_BACKENDS × WEB_WORKERS behind nginx, the jobs.
prod: install
	@$(BIN)/postboard serve

# Write nginx's config for the production backends (var/prod/nginx/nginx.conf).
nginx: install
	@$(BIN)/python -m postboard.dev.proxy write

browser:
	@$(BIN)/python -m postboard.dev.browser

test: install browser
	@$(BIN)/python -m postboard.dev.proxy ensure
	@$(BIN)/ruff check postboard tasks tests benchmarks
	@$(BIN)/ruff format --check postboard tasks tests benchmarks
	@$(BIN)/mypy
	@$(BIN)/pytest

lint: install
	@$(BIN)/ruff check postboard tasks tests benchmarks
	@$(BIN)/ruff format --check postboard tasks tests benchmarks
	@$(BIN)/mypy

clean:
	rm -rf var .web
