package debug

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// vscodeWorkspace is the launch.json variable for the folder open in VS
// Code, which for a devd project is the project folder.
const vscodeWorkspace = "${workspaceFolder}"

// Endpoint is a debug port of a service as a debugger on the host reaches
// it through devd. Field names in JSON are part of `devd debug --json`.
type Endpoint struct {
	// Service is the Compose service name.
	Service string `json:"service"`
	// Runtime is RuntimeNode, RuntimeGo or "" when unknown.
	Runtime string `json:"runtime,omitempty"`
	// ContainerPort is the debug port inside the container.
	ContainerPort int `json:"container_port"`
	// Address is the listen address of devd's proxy, "host:port".
	Address string `json:"address"`
	// Sources map the service's host source folders to the container
	// folders they reach, in the order of the service's triggers.
	Sources []PathMapping `json:"sources,omitempty"`
	// LoopbackOnly is true when the debugger listens on 127.0.0.1 inside
	// the container, where the proxy cannot reach it.
	LoopbackOnly bool `json:"loopback_only,omitempty"`
}

// PathMapping is a host folder and the container folder it reaches.
type PathMapping struct {
	// Host is an absolute host path.
	Host string `json:"host"`
	// Container is the container path, with forward slashes.
	Container string `json:"container"`
}

// AttachHost returns the host name and port a debugger on this machine
// attaches to: Address, with a wildcard host replaced by 127.0.0.1.
func (e Endpoint) AttachHost() (host string, port int) {
	h, p, err := net.SplitHostPort(e.Address)
	if err != nil {
		return e.Address, 0
	}
	port, _ = strconv.Atoi(p)
	if h == "" || canonicalHost(h) == "" {
		h = defaultHost
	}

	return h, port
}

// VSCodeConfig is one entry of the "configurations" list of VS Code's
// .vscode/launch.json: a Node.js attach (type "node") or a Go remote
// attach (type "go").
type VSCodeConfig struct {
	Name           string           `json:"name"`
	Type           string           `json:"type"`
	Request        string           `json:"request"`
	Mode           string           `json:"mode,omitempty"`
	Address        string           `json:"address,omitempty"`
	Host           string           `json:"host,omitempty"`
	Port           int              `json:"port"`
	Restart        bool             `json:"restart,omitempty"`
	LocalRoot      string           `json:"localRoot,omitempty"`
	RemoteRoot     string           `json:"remoteRoot,omitempty"`
	SkipFiles      []string         `json:"skipFiles,omitempty"`
	SubstitutePath []SubstitutePath `json:"substitutePath,omitempty"`
}

// SubstitutePath is an entry of a Go configuration's substitutePath.
type SubstitutePath struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// VSCode returns the launch.json configuration named name that attaches to
// e. Host folders inside workspace, the folder VS Code has open, are
// written from ${workspaceFolder}. A Node.js configuration maps only the
// first source folder, since it has room for one. It reports false when
// the runtime is unknown.
func (e Endpoint) VSCode(name, workspace string) (VSCodeConfig, bool) {
	host, port := e.AttachHost()
	switch e.Runtime {
	case RuntimeNode:
		cfg := VSCodeConfig{
			Name:      name,
			Type:      "node",
			Request:   "attach",
			Address:   host,
			Port:      port,
			Restart:   true,
			SkipFiles: []string{"<node_internals>/**"},
		}
		if len(e.Sources) > 0 {
			cfg.LocalRoot = workspacePath(workspace, e.Sources[0].Host)
			cfg.RemoteRoot = e.Sources[0].Container
		}
		return cfg, true
	case RuntimeGo:
		cfg := VSCodeConfig{Name: name, Type: "go", Request: "attach", Mode: "remote", Host: host, Port: port}
		for _, m := range e.Sources {
			cfg.SubstitutePath = append(cfg.SubstitutePath, SubstitutePath{From: workspacePath(workspace, m.Host), To: m.Container})
		}
		return cfg, true
	}

	return VSCodeConfig{}, false
}

// workspacePath writes a host path from ${workspaceFolder} when it lies
// inside workspace, and as it is otherwise.
func workspacePath(workspace, path string) string {
	if workspace == "" {
		return path
	}
	rel, err := filepath.Rel(workspace, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	if rel == "." {
		return vscodeWorkspace
	}

	return vscodeWorkspace + "/" + filepath.ToSlash(rel)
}

// JetBrainsConfig holds the fields of a JetBrains IDE run configuration
// that attaches to an Endpoint.
type JetBrainsConfig struct {
	// IDE names the IDEs that have the configuration type.
	IDE string `json:"ide"`
	// Configuration is the configuration type to add.
	Configuration string `json:"configuration"`
	Host          string `json:"host"`
	Port          int    `json:"port"`
	// RemoteURLs map local folders to the paths the inspector reports
	// (Node.js only).
	RemoteURLs []PathMapping `json:"remote_urls,omitempty"`
}

// JetBrains returns the JetBrains run configuration that attaches to e, or
// false when the runtime is unknown.
func (e Endpoint) JetBrains() (JetBrainsConfig, bool) {
	host, port := e.AttachHost()
	switch e.Runtime {
	case RuntimeNode:
		return JetBrainsConfig{
			IDE:           "WebStorm or IntelliJ IDEA",
			Configuration: "Attach to Node.js/Chrome",
			Host:          host,
			Port:          port,
			RemoteURLs:    e.Sources,
		}, true
	case RuntimeGo:
		return JetBrainsConfig{IDE: "GoLand", Configuration: "Go Remote", Host: host, Port: port}, true
	}

	return JetBrainsConfig{}, false
}
