# Two commands: `make demo` and `make test`. Both build .venv when missing.
PYTHON ?= python3
VENV ?= .venv
# A user with a GPU overrides this (e.g. TORCH="torch==2.13.0 --index-url <cuda wheel index>").
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
OUT ?= out

.PHONY: demo test venv test-venv clean bench schemas

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[datasets,aim,healthcare,autonomy,accounting]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

venv: $(VENV)/.installed

test-venv: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/python -m synthscape.demo --out $(OUT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 JAX_PLATFORMS=cpu $(BIN)/python -m pytest -n 2 -q tests

schemas: $(VENV)/.installed
	$(BIN)/python -m synthscape.scenarios.export_schemas data_schemas

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
