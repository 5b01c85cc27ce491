# Cellpass: `make demo` starts a seeded demo at http://127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo serve test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py seed_demo
	@$(MAKE) --no-print-directory serve

# The web server in the foreground and a Celery worker beside it; Ctrl-C stops both.
serve:
	@echo "Starting a Celery worker and the web server at http://$(HOST):$(PORT)/ (Ctrl-C stops both)"
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/celery -A config worker --beat --loglevel=WARNING --concurrency=2 & worker=$$!; \
	$(BIN)/gunicorn config.wsgi:application --bind $(HOST):$(PORT) --workers 1 --threads 4 --access-logfile -

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m benchmarks.registration  # set DATABASE_URL=postgres://... for the figures that count
	$(BIN)/python -m benchmarks.telemetry_ingest
	$(BIN)/python -m benchmarks.provenance
	$(BIN)/python -m benchmarks.fleet_sweep  # PostgreSQL and Redis for the figures that count (docs/twins.md)
	$(BIN)/python -m benchmarks.twin_accuracy  # NASA cells in ../shared; ~3-7 min
	$(BIN)/python -m benchmarks.physics_calibration  # five NASA cells, ~2 min each
	$(BIN)/python -m benchmarks.sparql  # 10,000 batteries; ~10 min on PostgreSQL (docs/ontology.md)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
