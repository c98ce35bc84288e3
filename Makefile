# The two Quick start commands: `make demo` and `make test`. Both install into .venv first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(VENV)/bin/escalator demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# what it checks is [tool.mypy] in pyproject.toml: src/, tests/ and benchmarks/ (the tests
# import their helpers as tests.fakes, tests.e2e.sidecar_process, ...)
typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict

unit: $(STAMP)
	$(VENV)/bin/pytest -q -n 2 --dist loadgroup

test: lint typecheck unit

bench: $(STAMP)
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
