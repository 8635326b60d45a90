// Package daemon wires devd's stages together: it loads the Compose
// project, follows the project's containers, watches the host folders,
// turns batches of changes into per-service work, applies it, and keeps the
// debug proxies pointed at the current containers.
package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/watch"
	"github.com/hashicorp/go-hclog"
)

// ErrInvalidConfig wraps errors in devd's settings that stop it from
// starting, such as a debug listen address that is taken.
var ErrInvalidConfig = errors.New("invalid configuration")

// Config configures a daemon. The zero value of a duration means its
// default.
type Config struct {
	// Compose selects the Compose project.
	Compose compose.Options
	// Quiet is the quiet period of the change batcher.
	Quiet time.Duration
	// MaxWait caps how long a batch waits while changes keep coming.
	MaxWait time.Duration
	// Logger is the root logger; nil discards output.
	Logger hclog.Logger
}

// Run supervises the project until ctx ends. The project must already be
// loaded and the engine reachable: errors that stop devd from starting are
// returned before any container is touched. Containers keep running when
// Run returns.
func Run(ctx context.Context, cfg Config, project *compose.Project, eng Engine) error {
	if cfg.Quiet <= 0 {
		cfg.Quiet = watch.DefaultQuiet
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = watch.DefaultMaxWait
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}

	carried := []plan.Work(nil)
	for {
		s, err := newSession(&cfg, project, eng, log)
		if err != nil {
			return err
		}
		next, pending, err := s.run(ctx, carried)
		if errors.Is(err, errStopped) {
			logUnapplied(log, pending)
			return nil
		}
		if err != nil {
			return err
		}
		project, carried = next, pending
		log.Info("configuration reloaded", "project", project.Name, "service_count", len(project.Services))
	}
}

func logUnapplied(log hclog.Logger, pending []plan.Work) {
	for _, w := range pending {
		log.Warn("stopping with changes not applied to the containers yet", "service", w.Service, "path_count", w.PathCount)
	}
}
