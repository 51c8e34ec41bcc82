# The two commands: `make run` (the product on http://127.0.0.1:8000) and `make test`.
.PHONY: run test bootstrap bootstrap-test migrate demo schedules bench check-deploy clean

PY := .venv/bin/python
PYTEST_ARGS ?=

run: bootstrap migrate demo schedules
	$(PY) manage.py serve

test: bootstrap-test
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bootstrap:
	@bash scripts/bootstrap.sh

bootstrap-test:
	@bash scripts/bootstrap.sh --test

migrate:
	$(PY) manage.py migrate --no-input

demo:
	$(PY) manage.py seed_demo

schedules:
	$(PY) manage.py setup_schedules

bench: bootstrap-test
	$(PY) bench/run_all.py

check-deploy: bootstrap
	DJANGO_SETTINGS_MODULE=config.settings.production $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var test-artefacts
