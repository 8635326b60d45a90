package daemon

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
)

// Stopping warns only about file changes that were not applied: work that
// waits for a container to start, with no changed path, loses nothing.
func TestLogUnappliedOnlyForChanges(t *testing.T) {
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Warn})
	tree := &filesync.Tree{HostRoot: "/p/api", ContainerRoot: "/app"}
	logUnapplied(log, []plan.Work{
		{Service: "waiting", Reconcile: true, Requested: "devd compared the containers with the host"},
		{Service: "asked", Restart: true, Requested: "devd restart"},
		{Service: "edited", Restart: true, PathCount: 2, Reasons: []string{"api/a.js", "api/b.js"}},
		{Service: "copied", Changes: []filesync.Change{{Tree: tree, HostPath: "/p/api/a.js"}}},
	})
	out := buf.String()
	for _, svc := range []string{"edited", "copied"} {
		if !strings.Contains(out, "service="+svc) {
			t.Errorf("no warning for %s:\n%s", svc, out)
		}
	}
	for _, svc := range []string{"waiting", "asked"} {
		if strings.Contains(out, "service="+svc) {
			t.Errorf("a warning for %s, which has no changed path:\n%s", svc, out)
		}
	}
}
