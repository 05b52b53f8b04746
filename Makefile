# Portico — the two commands a newcomer needs:
#   make run    start Portico with demo data on an embedded SQLite database
#   make test   run every test (unit, integration on SQLite and PostgreSQL, browser)
# Both install what is missing first, and are quick when everything is there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Build output lives outside the checkout so fresh clones (CI) reuse compiled dependencies.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/portico/target
# Compile-time name of the site bundle; the same for cargo and cargo-leptos so they share builds.
export LEPTOS_OUTPUT_NAME := portico
export LEPTOS_SITE_ROOT ?= target/site
export PORTICO_TOOLS ?= $(HOME)/.cache/portico/tools
export PATH := $(PORTICO_TOOLS)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: help setup setup-test run test test-rust test-e2e bench fmt lint clean

help:
	@echo "make run    - build and start Portico with demo data on http://127.0.0.1:3000"
	@echo "make test   - run every test (needs PostgreSQL on 127.0.0.1:5432 for the PostgreSQL half)"
	@echo "make bench  - figures: bundle size, page throughput, live delivery and memory"

setup:
	@bash .ci/setup build

setup-test:
	@bash .ci/setup test

run: setup
	cargo leptos build --release
	@mkdir -p data
	LEPTOS_SITE_ROOT=$(LEPTOS_SITE_ROOT) "$(CARGO_TARGET_DIR)/release/server" --demo --data-dir ./data serve

test: setup-test
	@bash .ci/test-all

bench: setup-test
	@bash .ci/bench

fmt:
	cargo fmt --all

lint:
	cargo fmt --all --check
	cargo clippy -p app --features ssr -p server -p entity -p migration --all-targets -- -D warnings

clean:
	rm -rf target/site data
