# brainstar: `make run` and `make test` are the two commands; each installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.brainstar-installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: help install dagster-home run dev test test-fast lint bench clean

help:
	@echo "make run   - install, write demo data if the landing zone is empty, materialize every asset"
	@echo "make test  - install and run the whole test suite (what CI runs)"
	@echo "make dev   - the Dagster UI on http://$(HOST):$(PORT) with the daemon (sensors, schedules)"
	@echo "make bench - run the benchmarks and print their tables"
	@echo "make test-fast, make lint, make clean"

# torch goes in first, pinned by constraints.txt, so no later requirement can pull a CUDA build.
# warm-kernels fills numba's on-disk cache, so no worker compiles the kernels on its first step.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,celery]'
	$(BIN)/python -m pip check
	$(BIN)/brainstar warm-kernels
	touch $@

install: $(STAMP)

# GPU=1, the default where `nvidia-smi -L` finds a GPU (GPU=0 overrides), adds the CUDA build on
# top of that: PyPI's torch 2.13.0, which is built for CUDA 13 (`===` so that a local CPU wheel
# of the same version cannot stand in for it), and the gpu extra (numba-cuda with the CUDA 13
# toolkit wheels, for the cortex engine 'cuda'). Needs an NVIDIA driver for CUDA 13 (>= 580).
# Going back to the CPU build takes a fresh venv (rm -r $(VENV)).
GPU_STAMP := $(VENV)/.brainstar-gpu-installed
ifeq ($(origin GPU),undefined)
GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
endif
ifeq ($(GPU),1)
install: $(GPU_STAMP)
endif

$(GPU_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt 'torch===2.13.0'
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,celery,gpu]'
	$(BIN)/python -m pip check
	$(BIN)/brainstar device
	touch $@

# The local instance: SQLite under DAGSTER_HOME, run queue and run monitoring on. Any brainstar
# command creates it on first use, once, under a lock (brainstar/cli/instance.py); an existing
# dagster.yaml there is the user's and is left alone. Pool limits live in the instance's storage,
# so they are applied here (idempotent).
dagster-home: install
	@$(BIN)/brainstar pools apply

run: install dagster-home
	$(BIN)/brainstar run

dev: install dagster-home
	$(BIN)/dagster dev -w workspace.yaml -h $(HOST) -p $(PORT)

test: install
	$(BIN)/pytest -m "slow or not slow"

test-fast: install
	$(BIN)/pytest

# ruff, the floors (import-linter contracts in pyproject.toml), and public Dagster APIs only.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@! git grep -n -e 'dagster[.]_' -e '_submit[_]task' -- ':!tests' \
	  || { echo "private Dagster APIs above: use the public ones" >&2; exit 1; }

BENCH_STAMP := $(VENV)/.brainstar-bench-installed

# The references the benchmarks compare against (NEST, lightkurve) come with the bench extra.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,celery,bench]'
	touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks $(BENCH)

clean:
	rm -rf data .dagster_home .pytest_cache .ruff_cache test-artifacts
