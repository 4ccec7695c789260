# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

.PHONY: install demo test ui bench
install: $(VENV)/.installed

demo: install
	$(BIN)/funnel demo

# -rs: every skipped test says why (no PostgreSQL, no browser, no vendor samples in FUNNEL_SAMPLES_DIR);
# --durations: the 25 slowest tests, to keep CI inside its time
test: install
	$(BIN)/python -m pytest -q -rs --durations=25

ui: install
	$(BIN)/python -c 'from funnel_assets.cli import ensure_instance_config; ensure_instance_config(".funnel/warehouse.dagster")'
	DAGSTER_HOME=$(CURDIR)/.funnel/warehouse.dagster $(BIN)/dagster dev

bench: install
	$(BIN)/python bench/bench_run.py --requests 1000000
