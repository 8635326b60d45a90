package up

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/devdtool/devd/compose"
)

// Debug runtimes of `x-devd.debug[].runtime`.
const (
	runtimeNode = "node"
	runtimeGo   = "go"
)

// firstDebug returns the service's debug entry for runtime with the lowest
// port. A program has one debugger, so only that entry is used to start it.
func firstDebug(svc compose.Service, runtime string) (compose.DebugPort, bool) {
	for _, d := range svc.Debug {
		if d.Runtime == runtime {
			return d, true
		}
	}
	return compose.DebugPort{}, false
}

// nodeFlag returns the flag that starts the Node.js inspector on all
// interfaces of the container, where the debug proxy can reach it.
func nodeFlag(d compose.DebugPort) string {
	name := "--inspect"
	if d.Brk {
		name = "--inspect-brk"
	}
	return fmt.Sprintf("%s=0.0.0.0:%d", name, d.Port)
}

// debugNode adds the inspector flag after `node` in the command line when
// the service has a Node.js debug entry and the command does not start the
// inspector itself. The flag goes on the command line, never into
// NODE_OPTIONS, which every node process (npm, tsc) would read and race
// for the port. It returns a note when the command has no node word it can
// change.
func (p *program) debugNode(svc compose.Service, sc types.ServiceConfig) []string {
	d, ok := firstDebug(svc, runtimeNode)
	if !ok {
		return nil
	}
	flag := nodeFlag(d)
	if v, ok := sc.Environment["NODE_OPTIONS"]; ok && v != nil && strings.Contains(*v, "--inspect") {
		return []string{fmt.Sprintf("service %q: NODE_OPTIONS starts the inspector, so devd does not add %s; NODE_OPTIONS makes every node process race for the port: remove --inspect from it", svc.Name, flag)}
	}

	argv := p.argv()
	for i, w := range argv {
		if isNode(w) {
			if !hasInspect(argv[i+1:]) {
				p.replace(i, w, flag)
			}
			return nil
		}
		if isShell(w) && i+2 < len(argv) && argv[i+1] == "-c" {
			if strings.Contains(argv[i+2], "--inspect") {
				return nil
			}
			if script, ok := insertInScript(argv[i+2], flag); ok {
				p.replace(i+2, script)
				return nil
			}
			break
		}
	}
	return []string{fmt.Sprintf("service %q: x-devd.debug asks for the Node.js inspector on port %d, but the command (%s) does not start node directly: add %s to the node command",
		svc.Name, d.Port, strings.Join(argv, " "), flag)}
}

// scriptNode matches a shell script that starts with node, possibly
// through exec.
var scriptNode = regexp.MustCompile(`^(\s*(?:exec\s+)?)(node|nodejs)(\s|$)`)

// insertInScript adds flag after the node word that starts a `sh -c`
// script.
func insertInScript(script, flag string) (string, bool) {
	loc := scriptNode.FindStringSubmatchIndex(script)
	if loc == nil {
		return "", false
	}
	end := loc[5] // end of the node word
	return script[:end] + " " + flag + script[end:], true
}

// debugGo runs the program under Delve when the service has a Go debug
// entry and the command does not start Delve itself. The program must be
// the first word of the command line and a path, because `dlv exec` does
// not search PATH. It returns a note when it cannot wrap the command.
//
// NOTE: the image must contain dlv on PATH (/usr/local/bin/dlv, say). Delve
// needs ptrace, which engines from Docker 19.03 on kernels from 4.8 allow
// under the default seccomp profile. Older ones need `cap_add: [SYS_PTRACE]`
// and sometimes `security_opt: [seccomp:unconfined]` in the Compose file.
func (p *program) debugGo(svc compose.Service) []string {
	d, ok := firstDebug(svc, runtimeGo)
	if !ok {
		return nil
	}
	argv := p.argv()
	for _, w := range argv {
		if path.Base(w) == "dlv" {
			return nil
		}
	}
	bin := argv[0]
	base := path.Base(bin)
	if isShell(bin) || strings.HasSuffix(base, ".sh") || !strings.Contains(bin, "/") {
		return []string{fmt.Sprintf("service %q: x-devd.debug asks for Delve on port %d, but the command (%s) does not start the Go program by its path: start it with `dlv exec PROGRAM --headless --listen=:%d --api-version=2 --accept-multiclient --continue -- ARGS`",
			svc.Name, d.Port, strings.Join(argv, " "), d.Port)}
	}
	wrapper := []string{"dlv", "exec", bin, "--headless", fmt.Sprintf("--listen=:%d", d.Port), "--api-version=2", "--accept-multiclient"}
	if !d.Brk {
		// Without --continue, Delve holds the program until a client
		// tells it to run.
		wrapper = append(wrapper, "--continue")
	}
	wrapper = append(wrapper, "--")
	p.replace(0, wrapper...)
	return nil
}

// isNode reports whether a command word runs Node.js.
func isNode(word string) bool {
	base := path.Base(word)
	return base == "node" || base == "nodejs"
}

// isShell reports whether a command word runs a POSIX shell.
func isShell(word string) bool {
	switch path.Base(word) {
	case "sh", "bash", "ash", "dash", "zsh":
		return true
	}
	return false
}

// hasInspect reports whether node's arguments start the inspector.
func hasInspect(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "--inspect") {
			return true
		}
	}
	return false
}
