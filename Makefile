# Two commands: `make demo` and `make test`. Both build .venv when missing.
PYTHON ?= python3
VENV ?= .venv
# A user with a GPU overrides this (e.g. TORCH="torch==2.13.0 --index-url <cuda wheel index>").
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
OUT ?= out
# Flower transport tests run in a second environment (flwr pins older typer/rich/cryptography
# than the core uses; docs/federated.md). Built by `make test` when the index is reachable;
# when it cannot be built it is removed and those tests skip.
FLWR_VENV ?= .venv-bench-flwr

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

$(FLWR_VENV)/.installed: pyproject.toml
	@( $(PYTHON) -m venv $(FLWR_VENV) \
	  && $(FLWR_VENV)/bin/pip install --quiet $(TORCH) \
	  && $(FLWR_VENV)/bin/pip install --quiet flwr==1.42.0 pandas scipy pydantic pyyaml pyarrow \
	     opacus safetensors scikit-learn \
	  && $(FLWR_VENV)/bin/pip install --quiet --no-deps -e . \
	  && touch $@ ) \
	  || (rm -rf $(FLWR_VENV); echo "Flower environment not built: the Flower tests will skip")

venv: $(VENV)/.installed

test-venv: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/python -m synthscape.demo --out $(OUT)

test: $(VENV)/.installed-test $(FLWR_VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 JAX_PLATFORMS=cpu $(BIN)/python -m pytest -n 2 -q tests

schemas: $(VENV)/.installed
	$(BIN)/python -m synthscape.scenarios.export_schemas data_schemas

clean:
	rm -rf $(VENV) $(FLWR_VENV) $(OUT) .pytest_cache
