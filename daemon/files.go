package daemon

import (
	"context"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/supervisor"
	filesync "github.com/devdtool/devd/sync"
	"github.com/devdtool/devd/up"
)

// fileProbeTimeout bounds the status request that shows whether a
// container's supervisor serves the file API.
const fileProbeTimeout = 2 * time.Second

// fileProbeRetry is how long devd goes through the engine after a
// supervisor did not respond, before it probes again.
const fileProbeRetry = time.Second

// files returns how to reach c's files for trees rooted at roots. It is
// devd's supervisor in c when the supervisor serves the file API for every
// one of roots, and the engine otherwise. The choice is kept per container
// until a request through the supervisor fails.
func (w *worker) files(ctx context.Context, c engine.Container, roots []string) filesync.Reconciler {
	if !supervised(c) || len(c.ID) < 12 {
		return w.eng
	}
	w.mu.Lock()
	sf, known := w.fileAPIs[c.ID]
	w.mu.Unlock()
	if !known {
		w.mu.Lock()
		failedAt, failed := w.fileProbeFailed[c.ID]
		w.mu.Unlock()
		if failed && time.Since(failedAt) < fileProbeRetry {
			return w.eng
		}
		var definite bool
		sf, definite = w.probeFiles(ctx, c)
		w.mu.Lock()
		if definite {
			if w.fileAPIs == nil {
				w.fileAPIs = make(map[string]*supervisor.Files)
			}
			w.fileAPIs[c.ID] = sf
			delete(w.fileProbeFailed, c.ID)
		} else {
			if w.fileProbeFailed == nil {
				w.fileProbeFailed = make(map[string]time.Time)
			}
			w.fileProbeFailed[c.ID] = time.Now()
		}
		w.mu.Unlock()
	}
	if sf == nil {
		return w.eng
	}
	for _, r := range roots {
		if !slices.Contains(sf.Roots, path.Clean(r)) {
			return w.eng
		}
	}
	return sf
}

// forgetFiles drops what files learned about a container, after a failure
// through its supervisor or when the container started again.
func (w *worker) forgetFiles(id string) {
	w.mu.Lock()
	delete(w.fileAPIs, id)
	w.mu.Unlock()
}

// probeFiles requests c's supervisor status to learn whether it serves the
// file API. It returns nil when it does not or cannot be reached. definite
// is false in the second case, as while the container starts, so that the
// result is not kept.
func (w *worker) probeFiles(ctx context.Context, c engine.Container) (files *supervisor.Files, definite bool) {
	dir, err := up.RunDir(c.Project, c.Service)
	if err != nil {
		return nil, true
	}
	client := supervisor.NewSocketClient(filepath.Join(dir, c.ID[:12]+".sock"))
	ctx, cancel := context.WithTimeout(ctx, fileProbeTimeout)
	defer cancel()
	st, err := client.Status(ctx)
	if err != nil {
		w.log.Debug("supervisor not reachable; copying files through the engine", "container", c.Name, "error", err)
		return nil, false
	}
	if !st.Files {
		w.log.Debug("copying files through the engine: the supervisor serves no file API", "container", c.Name)
		return nil, true
	}
	w.log.Debug("copying files through the supervisor", "container", c.Name, "sync_roots", st.SyncRoots)
	return &supervisor.Files{Engine: w.eng, Client: client, Roots: st.SyncRoots}, true
}

// treeRoots returns the container roots of the changes' trees.
func treeRoots(changes []filesync.Change) []string {
	var roots []string
	for _, ch := range changes {
		if ch.Tree != nil && !slices.Contains(roots, ch.Tree.ContainerRoot) {
			roots = append(roots, ch.Tree.ContainerRoot)
		}
	}
	return roots
}
