# unirt — the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
PY := .venv/bin/python

.PHONY: all deps venv protos protos-check models refs fixtures build test demo clean

all: build

deps:
	@scripts/install-deps.sh

venv: deps
	@scripts/venv.sh

protos:
	@scripts/gen-protos.sh

protos-check:
	@scripts/gen-protos.sh --check

models: venv
	@scripts/fetch-models.sh

refs: models
	@$(PY) scripts/make-model-refs.py

# Regenerates the committed small-graph fixtures from ONNX Runtime.
fixtures: venv
	@$(PY) scripts/make-test-graphs.py

build: deps
	$(SWIFT) build -c $(CONFIG)

test: deps protos-check refs
	$(SWIFT) build -c $(CONFIG)
	UNIRT_REQUIRE_MODELS=1 $(SWIFT) test -c $(CONFIG)
	clients/python/run-tests.sh

demo: deps models
	$(SWIFT) build -c release
	@scripts/demo.sh

clean:
	rm -rf .build
