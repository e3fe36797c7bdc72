# The two commands of the README: `make demo` and `make test`.
# Everything needed is installed into .venv by these targets (CI runs on a clean clone).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned in the same pip command as every package that depends on it.
TORCH := torch==2.13.0

.PHONY: install demo test lint typecheck bench

$(BIN)/anomalens: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "$(TORCH)" -e ".[dev]"
	touch $(BIN)/anomalens

install: $(BIN)/anomalens

demo: install
	$(BIN)/anomalens demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/pytest -q

bench: install
	$(BIN)/python benchmarks/vision_bench.py
