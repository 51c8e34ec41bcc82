# The two commands: `make run` (the product on http://127.0.0.1:8000) and `make test`.
.PHONY: run test test-pg bootstrap bootstrap-test migrate demo schedules bench check-deploy clean

PY := .venv/bin/python
PYTEST_ARGS ?=

run: bootstrap migrate demo schedules
	$(PY) manage.py serve

test: bootstrap-test
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)
	$(MAKE) test-pg

# The database- and queue-sensitive tests again on a throw-away PostgreSQL 15 and Redis.
test-pg: bootstrap-test
	PY=$(PY) bash scripts/test_pg_redis.sh

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
