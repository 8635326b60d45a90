#!/usr/bin/env bash
# Prints, as the last line on stdout, a Node.js image that is present in the
# local Docker engine, for use as DEVD_NODE_IMAGE by the example stack and the
# end-to-end tests. In order of preference:
#
#   1. $DEVD_NODE_IMAGE, when that image is present.
#   2. node:20-bookworm-slim, when it is present.
#   3. node:20-bookworm-slim, pulled, unless the pull times out after
#      $DEVD_PULL_TIMEOUT seconds (15) or fails.
#   4. devd-local/node:20, built FROM scratch out of this machine's own Node.js
#      binary, its shared libraries and busybox (from Debian's busybox-static),
#      for machines that cannot reach a registry. It is built once and reused
#      until the host's node binary changes.
#
# Progress and notes go to stderr, so `DEVD_NODE_IMAGE=$(scripts/node-image.sh)`
# captures only the image name.
set -euo pipefail

readonly official_image="node:20-bookworm-slim"
readonly local_image="devd-local/node:20"
readonly pull_timeout="${DEVD_PULL_TIMEOUT:-15}"
# Increase this version when the way the local image is assembled changes, so
# that images built by an older recipe are rebuilt.
readonly recipe_version="1"
readonly label_node_sha="dev.devd.node-image.node-sha256"
readonly label_recipe="dev.devd.node-image.recipe"

build_dir=""

log() { printf 'node-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

image_label() {
	docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# build_local_image assembles a root file system from files of this machine
# and builds $local_image from it.
build_local_image() {
	local node_bin="$1" node_sha="$2"
	local busybox_bin="${DEVD_BUSYBOX:-/bin/busybox}"

	[[ -x "$busybox_bin" ]] || die "$busybox_bin is missing: install Debian's busybox-static (apt-get install -y busybox-static)"
	if ! file_is_static "$busybox_bin"; then
		die "$busybox_bin is not statically linked: install Debian's busybox-static instead of busybox"
	fi

	build_dir="$(mktemp -d)"
	trap 'rm -rf "$build_dir"' EXIT
	local ctx="$build_dir"

	local rootfs="$ctx/rootfs"
	mkdir -p "$rootfs/usr/local/bin" "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/home/node"
	cp "$node_bin" "$rootfs/usr/local/bin/node"
	cp "$busybox_bin" "$rootfs/bin/busybox"

	# Copy every library that ldd resolves, and the dynamic loader, to the path
	# the binary loads it from. Symbolic links on the host become files.
	local lib count=0
	while read -r lib; do
		mkdir -p "$rootfs$(dirname "$lib")"
		cp -L "$lib" "$rootfs$lib"
		count=$((count + 1))
	done < <(ldd "$node_bin" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }
	')
	((count > 0)) || die "ldd listed no libraries for $node_bin"

	cat >"$rootfs/etc/passwd" <<-'PASSWD'
		root:x:0:0:root:/root:/bin/sh
		node:x:1000:1000:node:/home/node:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	PASSWD
	cat >"$rootfs/etc/group" <<-'GROUP'
		root:x:0:
		node:x:1000:
		nogroup:x:65534:
	GROUP
	# Without this file glibc may ask DNS before /etc/hosts for localhost.
	printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

	cat >"$ctx/Dockerfile" <<-DOCKERFILE
		FROM scratch
		COPY rootfs/ /
		# Exec form: there is no shell until busybox has installed its applets.
		RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && chmod 1777 /tmp && chown 1000:1000 /home/node"]
		ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
		LABEL ${label_node_sha}="${node_sha}" ${label_recipe}="${recipe_version}"
		CMD ["node"]
	DOCKERFILE

	log "building $local_image from $node_bin ($("$node_bin" --version)), its $count libraries and $busybox_bin"
	docker build --quiet --tag "$local_image" "$ctx" >&2 || die "building $local_image failed"
	docker run --rm "$local_image" node -e 'process.exit(0)' >/dev/null ||
		die "the node binary does not start in $local_image"
	docker run --rm "$local_image" sh -c 'command -v rm' >/dev/null ||
		die "$local_image has no sh or rm"
}

file_is_static() {
	# ldd exits non-zero for a static binary ("not a dynamic executable").
	! ldd "$1" >/dev/null 2>&1
}

main() {
	docker version >/dev/null 2>&1 || die "no Docker engine responds: start one first (scripts/engine.sh start)"

	if [[ -n "${DEVD_NODE_IMAGE:-}" ]]; then
		if image_present "$DEVD_NODE_IMAGE"; then
			printf '%s\n' "$DEVD_NODE_IMAGE"
			return
		fi
		log "DEVD_NODE_IMAGE=$DEVD_NODE_IMAGE is not present locally; looking for another image"
	fi

	if image_present "$official_image"; then
		printf '%s\n' "$official_image"
		return
	fi

	log "pulling $official_image (at most ${pull_timeout}s)"
	if timeout "$pull_timeout" docker pull --quiet "$official_image" >/dev/null 2>&1 && image_present "$official_image"; then
		printf '%s\n' "$official_image"
		return
	fi

	local node_bin
	node_bin="$(command -v "${DEVD_HOST_NODE:-node}" || true)"
	[[ -n "$node_bin" ]] || die "$official_image could not be pulled and this machine has no node binary to build a local image from (apt-get install -y nodejs)"
	node_bin="$(readlink -f "$node_bin")"
	local node_sha
	node_sha="$(sha256sum "$node_bin" | cut -d' ' -f1)"

	if image_present "$local_image" &&
		[[ "$(image_label "$local_image" "$label_node_sha")" == "$node_sha" ]] &&
		[[ "$(image_label "$local_image" "$label_recipe")" == "$recipe_version" ]]; then
		log "$official_image could not be pulled; reusing $local_image, built from this machine's $node_bin"
		printf '%s\n' "$local_image"
		return
	fi

	log "$official_image could not be pulled; building $local_image from this machine's $node_bin instead"
	build_local_image "$node_bin" "$node_sha"
	log "built $local_image from this machine's node because the base image could not be pulled"
	printf '%s\n' "$local_image"
}

main "$@"
