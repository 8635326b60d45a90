#!/usr/bin/env bash
# Starts or stops a Docker engine for development and CI on a Linux machine
# where none runs by default.
#
#   scripts/engine.sh start   installs docker.io and busybox-static with apt
#                             when they are missing, starts dockerd in the
#                             background unless an engine already responds,
#                             and waits until `docker version` succeeds
#   scripts/engine.sh stop    stops the dockerd that `start` started (found by
#                             the process id it recorded) and waits for it
#
# Settings (environment):
#   DEVD_STATE_DIR          where the pid and log files go (/tmp/devd-ci)
#   DEVD_DOCKERD_PIDFILE    pid file ($DEVD_STATE_DIR/dockerd.pid)
#   DEVD_DOCKERD_LOG        dockerd's log ($DEVD_STATE_DIR/dockerd.log)
#   DEVD_ENGINE_TIMEOUT     seconds to wait for the engine to respond (60)
#   DEVD_ENGINE_STOP_TIMEOUT seconds to wait for dockerd to exit before
#                           killing it (60)
#   DEVD_DOCKERD_ARGS       extra dockerd arguments, split on spaces (none);
#                           with --host, set DOCKER_HOST to match
#
# Starting and installing need root. Messages go to stderr.
set -euo pipefail

readonly state_dir="${DEVD_STATE_DIR:-/tmp/devd-ci}"
readonly pid_file="${DEVD_DOCKERD_PIDFILE:-$state_dir/dockerd.pid}"
readonly log_file="${DEVD_DOCKERD_LOG:-$state_dir/dockerd.log}"
readonly start_timeout="${DEVD_ENGINE_TIMEOUT:-60}"
readonly stop_timeout="${DEVD_ENGINE_STOP_TIMEOUT:-60}"
read -r -a dockerd_args <<<"${DEVD_DOCKERD_ARGS:-}"

log() { printf 'engine: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

engine_responds() { docker version >/dev/null 2>&1; }

as_root() {
	if [[ "$(id -u)" == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "'$*' needs root: run this script as root"
	fi
}

apt_updated=0
apt_install() {
	if ((apt_updated == 0)); then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		apt_updated=1
	fi
	log "apt-get install -y $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# busybox_static_present reports whether /bin/busybox exists and needs no
# shared library, which the test images built FROM scratch require.
busybox_static_present() {
	[[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1
}

# dockerd_running reports whether the recorded process id still names a
# running dockerd (and not another process that reused the id).
dockerd_running() {
	local pid="$1"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
		[[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == dockerd ]]
}

recorded_pid() {
	if [[ -f "$pid_file" ]]; then
		cat "$pid_file"
	fi
}

start() {
	local packages=()
	if ! command -v dockerd >/dev/null 2>&1 && [[ ! -x /usr/sbin/dockerd ]]; then
		packages+=(docker.io)
	fi
	busybox_static_present || packages+=(busybox-static)
	if ((${#packages[@]} > 0)); then
		apt_install "${packages[@]}"
	fi

	if engine_responds; then
		log "a Docker engine already responds ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo 'unknown version')); not starting another"
		return
	fi

	local pid
	pid="$(recorded_pid)"
	if [[ -n "$pid" ]] && ! dockerd_running "$pid"; then
		log "removing the stale pid file $pid_file (process $pid is gone)"
		rm -f "$pid_file"
		pid=""
	fi

	# Wait for a dockerd that something else started (a package's init script,
	# for example) and that is still starting. A second dockerd would exit
	# because the first one owns /var/run/docker.pid.
	local foreign_pid
	foreign_pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
	if [[ -z "$pid" && ${#dockerd_args[@]} -eq 0 ]] && dockerd_running "$foreign_pid"; then
		log "dockerd (pid $foreign_pid) was not started by this script and does not respond yet; waiting for it"
		wait_for_engine "$foreign_pid" "/var/run/docker.pid"
		return
	fi

	mkdir -p "$state_dir" "$(dirname "$pid_file")" "$(dirname "$log_file")"
	if [[ -z "$pid" ]]; then
		[[ "$(id -u)" == 0 ]] || die "dockerd needs root: run '$0 start' as root"
		# dockerd gets a session of its own, so a Ctrl-C in the terminal that
		# ran this script does not reach it. The shell writes its own id and
		# then execs dockerd, so the recorded id is dockerd's even when setsid
		# has to fork.
		rm -f "$pid_file"
		setsid bash -c 'echo "$$" >"$1.tmp" && mv "$1.tmp" "$1" && shift && exec dockerd "$@"' dockerd-start "$pid_file" "${dockerd_args[@]}" \
			>"$log_file" 2>&1 </dev/null &
		local waited_pid=0
		until [[ -s "$pid_file" ]]; do
			((waited_pid < 50)) || die "dockerd did not start within 5s; see its log $log_file"
			sleep 0.1
			waited_pid=$((waited_pid + 1))
		done
		pid="$(recorded_pid)"
		log "started dockerd (pid $pid, log $log_file)"
	else
		log "dockerd started earlier (pid $pid) does not respond yet; waiting for it"
	fi

	wait_for_engine "$pid" "$pid_file"
}

# wait_for_engine waits up to $start_timeout seconds for the engine to
# respond. It fails when the dockerd with the given id exits or the time runs
# out, and in the second case it first stops a dockerd that this script started.
wait_for_engine() {
	local pid="$1" recorded_in="$2"
	local waited=0
	until engine_responds; do
		if ! kill -0 "$pid" 2>/dev/null; then
			if [[ "$recorded_in" == "$pid_file" ]]; then
				rm -f "$pid_file"
				tail -n 20 "$log_file" >&2 || true
				die "dockerd (pid $pid) exited before responding; see its log $log_file"
			fi
			die "dockerd (pid $pid) exited before responding"
		fi
		if ((waited >= start_timeout * 10)); then
			if [[ "$recorded_in" == "$pid_file" ]]; then
				tail -n 20 "$log_file" >&2 || true
				log "timed out after ${start_timeout}s waiting for dockerd to respond (raise DEVD_ENGINE_TIMEOUT); stopping it"
				stop
				exit 1
			fi
			die "timed out after ${start_timeout}s waiting for dockerd (pid $pid) to respond (raise DEVD_ENGINE_TIMEOUT)"
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	log "the engine responds after $((waited / 10)).$((waited % 10))s"
}

stop() {
	local pid
	pid="$(recorded_pid)"
	if [[ -z "$pid" ]]; then
		log "no dockerd was started by this script (no $pid_file); nothing to stop"
		return
	fi
	if ! dockerd_running "$pid"; then
		log "dockerd (pid $pid) has already exited"
		rm -f "$pid_file"
		return
	fi

	log "stopping dockerd (pid $pid)"
	kill -TERM "$pid"
	local waited=0
	while kill -0 "$pid" 2>/dev/null; do
		if ((waited >= stop_timeout * 10)); then
			log "dockerd (pid $pid) still runs after ${stop_timeout}s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	rm -f "$pid_file"
	log "dockerd stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
