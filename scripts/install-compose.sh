#!/usr/bin/env bash
# Builds the docker compose CLI plugin from the Go module proxy when
# `docker compose` is missing. Machines without a registry that serves the
# plugin binary can still build it this way. The first build takes a few
# minutes.
set -euo pipefail

COMPOSE_MODULE_VERSION="${COMPOSE_MODULE_VERSION:-v5.6.0}"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

if docker compose version >/dev/null 2>&1; then
	docker compose version
	exit 0
fi

build_dir="$(mktemp -d)"
trap 'rm -rf "$build_dir"' EXIT

cd "$build_dir"
cat >go.mod <<MOD
module devd.local/composebuild

go 1.24
MOD
cat >main.go <<'SRC'
//go:build tools

package tools

import _ "github.com/docker/compose/v5/cmd"
SRC

# `go install module@version` is rejected because the compose module has
# exclude directives, so build it from a throwaway module that requires it.
go get "github.com/docker/compose/v5@${COMPOSE_MODULE_VERSION}"
go mod tidy
mkdir -p "$PLUGIN_DIR"
CGO_ENABLED=0 go build -o "$PLUGIN_DIR/docker-compose" github.com/docker/compose/v5/cmd
docker compose version
