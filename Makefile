# RoR CRM: the two commands are `make demo` and `make test`.
#
#   make demo   local demo on http://127.0.0.1:$(PORT)/admin/ (SQLite, eager Celery, demo data)
#   make test   the whole test suite, on throwaway PostgreSQL + Redis + a real Celery worker
#               when their binaries are installed (else SQLite and eager Celery, with a notice;
#               with CI set, missing services fail the run)

PYTHON ?= python3.11
VENV ?= .venv
PORT ?= 8000
PYTEST_ARGS ?=

VENV_PYTHON := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.requirements.stamp
DEV_STAMP := $(VENV)/.requirements-dev.stamp
# The demo never uses the environment's services: SQLite file beside the code, tasks run in-process.
DEMO_ENV := env -u REDIS_URL DJANGO_DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/db.sqlite3

.PHONY: demo api-key test lint check-migrations compose-config ci clean help

help:
	@sed -n '1,7p' Makefile

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed since the last install.
$(RUNTIME_STAMP): requirements.txt | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

demo: $(RUNTIME_STAMP)
	$(DEMO_ENV) $(VENV_PYTHON) manage.py migrate --no-input
	$(DEMO_ENV) $(VENV_PYTHON) manage.py seed_demo
	$(DEMO_ENV) $(VENV_PYTHON) manage.py ensure_demo_admin --url http://127.0.0.1:$(PORT)/admin/
	$(DEMO_ENV) $(VENV_PYTHON) manage.py runserver 127.0.0.1:$(PORT)

# A partner API key for the demo's database (the key is printed once, on the last line).
NAME ?= Demo partner
SCOPES ?= read,write
api-key: $(RUNTIME_STAMP)
	$(DEMO_ENV) $(VENV_PYTHON) manage.py migrate --no-input --verbosity 0
	$(DEMO_ENV) $(VENV_PYTHON) manage.py create_api_key "$(NAME)" --scopes $(SCOPES)

# The launcher exits non-zero when pytest fails, collects no tests (exit 5) or, under CI,
# when PostgreSQL or Redis are missing; it stops its servers in every case.
test: $(DEV_STAMP)
	$(VENV_PYTHON) scripts/with_services.py -- $(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

check-migrations: $(RUNTIME_STAMP)
	DJANGO_DEBUG=1 $(VENV_PYTHON) manage.py makemigrations --check --dry-run

# docker-compose.yml requires DJANGO_SECRET_KEY; a dummy (unless set) lets the syntax check run without .env.
compose-config:
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-compose-config-check} docker-compose config -q

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
