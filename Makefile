# Lexbase — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
CODE := src tests $(wildcard benchmarks)
# The CPU build of torch (for the local embedding model): from a local wheel directory when
# the machine has one, else from PyTorch's CPU index — never the multi-GB CUDA build.
TORCH_SOURCE := $(if $(wildcard /opt/wheels/torch-*.whl),--find-links /opt/wheels,--extra-index-url https://download.pytorch.org/whl/cpu)

# llama.cpp is compiled at install for x86-64 with AVX2, not for the building machine's own
# CPU: a native build on a CPU with AMX (Intel Sapphire Rapids and later) crashes on its first
# token, and a build made on one machine must run on the others. Override to tune.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: run install dev test test-distributed test-fast lint format provision clean help

help:
	@echo "make run       install into .venv, migrate, prepare models, serve (embedded mode)"
	@echo "make test      install dev deps, provision services (as root), run the whole suite"
	@echo "make test-distributed  only the multi-process tier: the API tests through its proxy, faults"
	@echo "make lint      ruff + mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check $(TORCH_SOURCE) -e .
	@touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check $(TORCH_SOURCE) -e '.[dev]'
	@touch $@

install: $(STAMP)
dev: $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/lexbase migrate
	$(BIN)/lexbase prepare-models
	exec $(BIN)/lexbase serve

# Postgres (+pgvector) and Redis come from Debian packages; the tests start their own instances.
# docker-compose, promtool and kubectl check the deployment files (tests/deploy).
provision:
	@if [ "$$(id -u)" = "0" ]; then \
		bash scripts/provision-services.sh && bash scripts/provision-deploy-tools.sh; \
	else echo "make: not root, skipping provisioning (Postgres/Redis and deployment checks may be skipped)"; fi

test: $(DEV_STAMP) provision
	$(BIN)/pytest --cov --cov-report=term:skip-covered --durations=25 -p no:cacheprovider

# The distributed tier alone (`make test` runs all of it too): PostgreSQL, Redis, S3, two API
# replicas behind nginx and two workers on 127.0.0.1; the API tests over HTTP through its proxy,
# then faults while work flows (tests/distributed).
test-distributed: $(DEV_STAMP) provision
	$(BIN)/pytest --through-proxy -p no:cacheprovider

test-fast: $(DEV_STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -k "not postgres"

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
