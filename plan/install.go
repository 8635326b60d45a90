package plan

import (
	"path"
	"path/filepath"

	"github.com/devdtool/devd/compose"
)

// installCommands maps a Node.js manifest or lock file to the command that
// installs the dependencies it lists. A change to package.json alone runs
// npm install.
var installCommands = map[string][]string{
	"package.json":        {"npm", "install"},
	"package-lock.json":   {"npm", "install"},
	"npm-shrinkwrap.json": {"npm", "install"},
	"yarn.lock":           {"yarn", "install"},
	"pnpm-lock.yaml":      {"pnpm", "install"},
}

// dependencyInstall returns the command that brings a container's
// node_modules up to date after a change to the manifest or lock file at
// hostPath, or nil. It applies only where the container keeps its own
// node_modules: the rule's target has a node_modules folder that another
// mount (usually an anonymous volume) hides from the host, so the host's
// install never reaches the container.
//
// The hooks are made once per rule and command, so that Work.addExec, which
// compares hooks by identity, runs each once per batch. Make runs on one
// goroutine, so the rule's map needs no lock.
func (r *Rule) dependencyInstall(hostPath string) *compose.ExecHook {
	name := filepath.Base(hostPath)
	command, ok := installCommands[name]
	if !ok || r.Trigger.Target == "" || filepath.Dir(hostPath) != r.Trigger.Path {
		return nil
	}
	hidesModules := false
	for _, h := range r.Trigger.Hidden {
		if filepath.Base(h) == "node_modules" && filepath.Dir(h) == r.Trigger.Path {
			hidesModules = true
		}
	}
	if !hidesModules {
		return nil
	}
	if r.installs == nil {
		r.installs = make(map[string]*compose.ExecHook)
	}
	hook, ok := r.installs[command[0]]
	if !ok {
		hook = &compose.ExecHook{Command: command, WorkingDir: path.Clean(r.Trigger.Target)}
		r.installs[command[0]] = hook
	}
	return hook
}
