# Two commands do all the set-up on a fresh machine:
#   make demo   -> creates .venv, installs causal_kit, plans + reads out a geo experiment, writes an HTML report
#   make test   -> creates .venv, installs causal_kit with dev extras, runs the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: venv demo test test-fast bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/causal-kit demo --out reports

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

.venv-bench/.installed: pyproject.toml
	test -x .venv-bench/bin/python || $(PY) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip
	.venv-bench/bin/python -m pip install --quiet -e ".[dev,bench]"
	touch $@

bench: .venv-bench/.installed
	.venv-bench/bin/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check causal_kit tests benchmarks

clean:
	rm -rf $(VENV) .venv-bench dist build test-artifacts reports
