# The two set-up commands are `make run` and `make test`; everything else is a helper.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install pdf-libs run worker test test-fast serve lint format bench lock clean

$(STAMP): requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

# WeasyPrint's system libraries (Debian's packages when missing).
pdf-libs:
	@scripts/pdf_libs.sh

install: $(STAMP)

## make run: the app on SQLite with demo data, served on http://127.0.0.1:8000, with one
## email worker beside it (emails print on the console unless EMAIL_BACKEND says otherwise)
run: install pdf-libs
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Open http://127.0.0.1:8000 and log in with one of the logins above."
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:8000

## make worker: one email worker (run as many as you like, on any machine, against the
## same PostgreSQL: DATABASE_URL=postgres://... make worker)
worker: install pdf-libs
	$(PY) manage.py db_worker --no-reload

## make test: the whole suite (throwaway PostgreSQL when available, browser tests in Chromium)
test: install pdf-libs
	scripts/with_postgres.sh $(PY) -m pytest $(PYTEST_ARGS)

## make serve: production settings under gunicorn + WhiteNoise (needs SECRET_KEY, ALLOWED_HOSTS).
## Emails are sent by workers: run `DJANGO_PRODUCTION=1 .venv/bin/python manage.py db_worker`
## (or `make worker`) on this or other machines against the same DATABASE_URL; each task
## is claimed by one worker (SELECT … FOR UPDATE SKIP LOCKED).
serve: install pdf-libs
	DJANGO_PRODUCTION=1 $(PY) manage.py collectstatic --noinput -v0
	DJANGO_PRODUCTION=1 $(PY) manage.py migrate --noinput
	DJANGO_PRODUCTION=1 $(VENV)/bin/gunicorn config.wsgi --bind $${BIND:-127.0.0.1:8000} --workers $${WORKERS:-3} --access-logfile -

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make bench: benchmarks on a throwaway PostgreSQL, figures into docs/benchmarks.md
bench: install pdf-libs
	scripts/with_postgres.sh $(PY) -m benchmarks $(BENCH_ARGS)

## make lock: re-resolve requirements.lock from pyproject.toml's ranges
lock:
	rm -rf /tmp/shop-lock-venv && python3 -m venv /tmp/shop-lock-venv
	/tmp/shop-lock-venv/bin/pip install --quiet ".[dev]"
	/tmp/shop-lock-venv/bin/pip freeze --exclude repairshop-billing > requirements.lock

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
