# Ops Platform — `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test prod-check prod-smoke worker beat bench lint migrate messages clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

run: migrate
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py compute_metrics --all
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Production build checks (CI runs them before `make test`): the static build and Django's deployment checks with
# DJANGO_DEBUG=0, a throwaway random secret key and the production hosts. PROD_STATIC_ROOT: where collectstatic writes.
PROD_STATIC_ROOT ?= $(CURDIR)/staticfiles
PROD_ENV = DJANGO_DEBUG=0 DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-ops.example.com}" STATIC_ROOT="$(PROD_STATIC_ROOT)"
prod-check: install
	$(PROD_ENV) $(BIN)/python manage.py collectstatic --no-input --clear --verbosity 1
	$(PROD_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

# The production smoke alone (it is part of `make test` too): gunicorn with DJANGO_DEBUG=0 and headless Chromium.
prod-smoke: install
	$(BIN)/python -m pytest tests/e2e/test_production_smoke.py tests/test_static_build.py tests/test_deploy_files.py

worker: install
	$(BIN)/celery -A ops_platform worker --loglevel=INFO --concurrency=2

beat: install
	$(BIN)/celery -A ops_platform beat --loglevel=INFO

bench: install
	$(BIN)/python bench/run_all.py

lint: install
	$(BIN)/ruff check .

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans -l zh_Hant --no-obsolete --no-location --ignore=.venv --ignore=staticfiles --ignore=bench --ignore=tests
	$(BIN)/python scripts/i18n_sync.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
