# Build, test and demo targets for devd. `make` alone lists them.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go
BIN_DIR := bin
DEVD := $(BIN_DIR)/devd
PREFIX ?= /usr/local
DESTDIR ?=

# The whole suite, end-to-end tests included, must finish within this.
TEST_TIMEOUT ?= 40m
# A staticcheck release that builds with the Go version in go.mod.
STATICCHECK_VERSION ?= v0.8.2
EXAMPLE_COMPOSE := examples/microservices/compose.yaml
BENCH_ARGS ?=
BREAKPOINT_BENCH_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help build install test test-unit lint demo demo-down bench soak clean

help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## Build a static bin/devd
	CGO_ENABLED=0 $(GO) build -trimpath -o $(DEVD) ./cmd/devd

install: build ## Install bin/devd into PREFIX/bin (PREFIX=/usr/local)
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 $(DEVD) "$(DESTDIR)$(PREFIX)/bin/devd"

# The end-to-end tests build their images on DEVD_NODE_IMAGE; when an engine
# responds, scripts/node-image.sh finds or builds one. Without an engine they
# skip, or fail when DEVD_E2E=1 says an engine must be there.
test: ## Run every test with the race detector (end-to-end tests need Docker)
	@if docker version >/dev/null 2>&1; then \
		DEVD_NODE_IMAGE="$$(scripts/node-image.sh | tail -n 1)"; \
		export DEVD_NODE_IMAGE; \
		echo "DEVD_NODE_IMAGE=$$DEVD_NODE_IMAGE"; \
	else \
		echo "no Docker engine responds: end-to-end tests will skip (DEVD_E2E=1 makes them fail)"; \
	fi; \
	echo "$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./..."; \
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

test-unit: ## Run the short tests only (no Docker needed)
	$(GO) test -short -race -count=1 ./...

lint: ## Run go vet, staticcheck and a go mod tidy check
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	@# -diff prints what tidy would change and fails, without writing go.mod.
	$(GO) mod tidy -diff
	@# devd is tested on Linux; this keeps the macOS build from breaking.
	GOOS=darwin $(GO) build ./...

# devd up runs the billing service's host build (profile go), builds the
# images, starts the stack under devd's supervisor and watches it.
demo: build ## Start the example stack with devd up and watch it
	scripts/install-compose.sh
	DEVD_NODE_IMAGE="$$(scripts/node-image.sh | tail -n 1)"; \
	export DEVD_NODE_IMAGE; \
	echo "devd runs in the foreground; stop it with Ctrl-C, then 'make demo-down'"; \
	$(DEVD) up --profile go -f $(EXAMPLE_COMPOSE)

demo-down: ## Stop the example stack and remove its containers and volumes
	docker compose -f $(EXAMPLE_COMPOSE) --profile '*' down --volumes --remove-orphans

# The benchmark programs compare devd with the tools users pick instead:
# save to new code served, and save to a breakpoint hit in the new code.
bench: ## Run the benchmarks (pass options in BENCH_ARGS and BREAKPOINT_BENCH_ARGS)
	$(GO) run ./bench/cmd/devd-bench $(BENCH_ARGS)
	$(GO) run ./bench/cmd/breakpoint-bench $(BREAKPOINT_BENCH_ARGS)

# The soak test edits the example stack for DURATION and checks that the
# containers converge and devd's goroutines and open files stay flat.
DURATION ?= 1h
soak: ## Run the soak test for DURATION (default 1h; CI runs 5m)
	@DEVD_NODE_IMAGE="$$(scripts/node-image.sh | tail -n 1)"; \
	export DEVD_NODE_IMAGE; \
	DEVD_SOAK=$(DURATION) $(GO) test -count=1 -v -run '^TestSoak$$' -timeout 0 ./e2e/

clean: ## Remove build and test output
	rm -rf $(BIN_DIR) coverage.out coverage.html test-output
