package delve

import "strings"

// Exit codes a shell or container runtime gives a command it cannot run.
const (
	exitNotExecutable = 126
	exitNotFound      = 127
)

// Advice messages, one per failure Advice recognises.
const (
	adviceNoPtrace = "Delve may not trace processes in this container (ptrace is denied). " +
		"Add to the service in the Compose file:\n" +
		"    cap_add: [SYS_PTRACE]\n" +
		"    security_opt: [seccomp:unconfined]\n" +
		"With a seccomp profile of your own, allow the ptrace system call in it instead of seccomp:unconfined."
	adviceYama = "Delve may not attach to a running process: the host's Yama ptrace scope forbids it. " +
		"Add `cap_add: [SYS_PTRACE]` to the service in the Compose file, or start the program with `dlv exec` instead of attaching."
	adviceNotFound = "dlv is not installed in the image. Build it in a Go stage with " +
		"`RUN CGO_ENABLED=0 go install github.com/go-delve/delve/cmd/dlv@latest` " +
		"and copy it into the image with `COPY --from=build /go/bin/dlv /usr/local/bin/dlv`, " +
		"or put `dlv` on the PATH of the image some other way."
	adviceNotExecutable = "dlv or the program it runs cannot be executed in the container: " +
		"make it executable (chmod +x) and build it for the container's platform (CGO_ENABLED=0 GOOS=linux)."
	adviceNoMulticlient = "dlv's --continue needs --accept-multiclient: add it to the dlv command " +
		"(`dlv exec BINARY --headless --listen=:2345 --api-version=2 --accept-multiclient --continue`)."
	adviceNoBinary = "the binary after `dlv exec` does not exist in the container: " +
		"check the path and that the build writes the binary there."
	adviceGoVersion = "the dlv in the image does not support the Go version the program was built with: " +
		"install a dlv release that supports it, or add --check-go-version=false to the dlv command."
	advicePortBusy = "Delve's port is still taken, usually by an earlier dlv that did not exit: " +
		"restart the container, and make sure nothing else in it listens on that port."
)

// Advice turns the output and exit code of a failed dlv command into what
// the user has to change, naming the Compose keys to add or what to install.
// It returns "" when it does not recognise the failure.
func Advice(output string, exitCode int) string {
	out := strings.ToLower(output)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if !strings.Contains(out, s) {
				return false
			}
		}
		return true
	}

	switch {
	case has("could not launch process", "operation not permitted"),
		has("could not attach to pid", "operation not permitted"),
		has("ptrace", "operation not permitted"):
		return adviceNoPtrace
	case has("could not attach to pid", "ptrace_scope"):
		return adviceYama
	case has("--continue requires --accept-multiclient"):
		return adviceNoMulticlient
	case has("could not launch process", "no such file or directory"):
		return adviceNoBinary
	case has("too old for go version"), has("is too old for this version of delve"):
		return adviceGoVersion
	case has("address already in use"):
		return advicePortBusy
	case exitCode == exitNotFound,
		has("dlv: not found"),
		has(`"dlv": executable file not found`):
		return adviceNotFound
	case exitCode == exitNotExecutable, has("exec format error"):
		return adviceNotExecutable
	}

	return ""
}
