# `make run` serves regflow on the embedded default; `make test` runs every check CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit bench simulate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/regflow serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy --strict domain
	$(BIN)/mypy api infrastructure projections simulation

test: lint
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# `make simulate SEEDS=300` runs seeds 0..299; `make simulate SEED=17` reproduces one seed.
SEEDS ?= 300
simulate: $(STAMP)
	PYTHONHASHSEED=0 $(BIN)/python -m simulation $(if $(SEED),--seed $(SEED),--seeds $(SEEDS))

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	for name in append engine recovery projections replay api; do $(BIN)/python -m bench.$$name || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
