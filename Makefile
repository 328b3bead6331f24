# blazar-events: the two commands of the README, and their parts.
#
#   make run    - virtualenv, the pipeline (it starts the services it needs: Redis, RabbitMQ,
#                 Kafka at once, then Keystone and Blazar for a real lease; no Kubernetes)
#   make test   - virtualenv, Kubernetes binaries, local stack, helm, ruff, mypy, import-linter,
#                 pytest (2 workers)
#   make stack  - start the local services (idempotent); make down stops them

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2

.PHONY: run test stack down status lint tools venv clean-stack helm kube

# Not `stack`: the demo starts what it needs itself, so the first event shows before Keystone,
# Blazar or the Kubernetes control plane are installed.
run: venv
	$(BIN)/blazar-events run

test: venv kube stack lint helm
	$(BIN)/pytest $(PYTEST_ARGS) -m 'not pipeline'
	$(BIN)/pytest -m pipeline

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The helm binary the chart tests run: built from source once, into .stack/bin.
helm:
	bash k8s/tools/install-helm.sh

# The Kubernetes control plane of the stack (etcd, kube-apiserver, kubectl, Knative's
# webhooks): built from source once into .stack/bin, ~15 min cold on two cores (README).
kube:
	bash k8s/tools/install-kube.sh

# helm and the Kubernetes binaries, built once from source into .stack/bin (needs Go).
tools: helm kube

stack: venv
	$(BIN)/blazar-events stack up

down:
	@if [ -x $(BIN)/blazar-events ]; then $(BIN)/blazar-events stack down; fi

status: venv
	$(BIN)/blazar-events stack status

# Removes every service's data (Kafka topics, Redis keys, Keystone's database): a fresh start.
clean-stack: down
	rm -rf .stack

venv: $(VENV)/.installed

# Debian ships ensurepip in a separate package; without it `python3 -m venv` fails halfway.
$(BIN)/python:
	@if ! $(PYTHON) -m venv $(VENV); then \
	  echo "make: '$(PYTHON) -m venv' failed; installing Debian's python3-venv" >&2; \
	  rm -rf $(VENV); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q python3-venv || { apt-get update -q && apt-get install -y -q python3-venv; }; \
	  $(PYTHON) -m venv $(VENV); \
	fi

$(VENV)/.installed: pyproject.toml client/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[stack,test,bench]"
	$(BIN)/python -m pip install -q -e "./client[osc]"
	@touch $@
