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

// fileProbeTimeout bounds the status request that tells whether a
// container's supervisor serves the file API.
const fileProbeTimeout = 2 * time.Second

// files returns how to reach c's files for trees rooted at roots: through
// its supervisor when it runs devd's supervisor, that supervisor serves the
// file API and its sync roots include every one of roots; through the
// engine otherwise. The answer is kept per container until a request
// through the supervisor fails.
func (w *worker) files(ctx context.Context, c engine.Container, roots []string) filesync.Reconciler {
	if !supervised(c) || len(c.ID) < 12 {
		return w.eng
	}
	w.mu.Lock()
	sf, known := w.fileAPIs[c.ID]
	w.mu.Unlock()
	if !known {
		sf = w.probeFiles(ctx, c)
		w.mu.Lock()
		if w.fileAPIs == nil {
			w.fileAPIs = make(map[string]*supervisor.Files)
		}
		w.fileAPIs[c.ID] = sf
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

// probeFiles asks c's supervisor whether it serves the file API. It returns
// nil when it does not, or cannot be reached.
func (w *worker) probeFiles(ctx context.Context, c engine.Container) *supervisor.Files {
	dir, err := up.RunDir(c.Project, c.Service)
	if err != nil {
		return nil
	}
	client := supervisor.NewSocketClient(filepath.Join(dir, c.ID[:12]+".sock"))
	ctx, cancel := context.WithTimeout(ctx, fileProbeTimeout)
	defer cancel()
	st, err := client.Status(ctx)
	if err != nil || !st.Files {
		w.log.Debug("copying files through the engine", "container", c.Name, "file_api", st.Files, "error", err)
		return nil
	}
	w.log.Debug("copying files through the supervisor", "container", c.Name, "sync_roots", st.SyncRoots)
	return &supervisor.Files{Engine: w.eng, Client: client, Roots: st.SyncRoots}
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
