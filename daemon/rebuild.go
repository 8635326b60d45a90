package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/up"
)

// maxExecOutput caps the output of a failed sync+exec command in messages.
const maxExecOutput = 4 << 10

// rebuild builds the service's image with the user's own docker compose and
// recreates its containers, as Compose's rebuild action does. A failed
// build keeps the running containers; only a new change can fix it.
func (w *worker) rebuild(ctx context.Context, work plan.Work) error {
	project := w.session.project
	opts := up.UpOptions{
		Files:       project.ComposeFiles,
		ProjectName: project.Name,
		ProjectDir:  project.WorkingDir,
		Profiles:    w.session.cfg.Compose.Profiles,
		EnvFiles:    w.session.cfg.Compose.EnvFiles,
		Services:    []string{w.svc.Name},
	}
	out := &cappedBuffer{limit: maxBuildOutput}
	opts.Stdout, opts.Stderr = out, out

	reason := reasonText(work)
	w.log.Info("rebuilding the image", "reason", reason)
	w.publish(event.Event{Type: event.BuildStarted, Reason: "image rebuild: " + reason, Paths: work.Reasons})
	start := time.Now()

	err := up.Build(ctx, opts)
	if err == nil {
		err = up.Up(ctx, opts)
	}
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		text := strings.TrimSpace(out.String())
		w.log.Error("image rebuild failed; the running containers keep the previous image", "error", err, "output", text)
		w.publish(event.Event{Type: event.BuildFailed, Error: fmt.Sprintf("%v\n%s", err, text), DurationMS: elapsed.Milliseconds()})
		return &permanentError{err: fmt.Errorf("rebuilding the image: %w", err)}
	}
	w.log.Info("image rebuilt and containers recreated", "duration", elapsed.Round(time.Millisecond))
	w.publish(event.Event{Type: event.BuildDone, Reason: "image rebuilt, containers recreated", DurationMS: elapsed.Milliseconds()})
	return nil
}

// exec runs the commands of the work's sync+exec rules in every container,
// after the sync. A failing command is reported with its exit code and
// output and not run again until the next change.
func (w *worker) exec(ctx context.Context, containers []engine.Container, work plan.Work) error {
	var failed []string
	for _, c := range containers {
		for _, e := range work.Execs {
			start := time.Now()
			res, err := w.eng.Exec(ctx, c.ID, e.Command, engine.ExecOptions{
				User: e.User, WorkingDir: e.WorkingDir, Env: e.Env, Privileged: e.Privileged,
			})
			command := strings.Join(e.Command, " ")
			switch {
			case err != nil:
				failed = append(failed, fmt.Sprintf("%s in %s: %v", command, c.Name, err))
				w.publish(event.Event{Type: event.ExecFailed, Container: c.Name, Reason: command, Error: err.Error()})
			case res.ExitCode != 0:
				output := strings.TrimSpace(string(res.Output))
				if len(output) > maxExecOutput {
					output = output[len(output)-maxExecOutput:]
				}
				msg := fmt.Sprintf("exit code %d: %s", res.ExitCode, output)
				failed = append(failed, fmt.Sprintf("%s in %s: %s", command, c.Name, msg))
				w.log.Error("sync command failed", "container", c.Name, "command", command, "exit_code", res.ExitCode, "output", output)
				w.publish(event.Event{Type: event.ExecFailed, Container: c.Name, Reason: command, Error: msg})
			default:
				w.log.Info("sync command done", "container", c.Name, "command", command, "duration", time.Since(start).Round(time.Millisecond))
				w.publish(event.Event{Type: event.ExecDone, Container: c.Name, Reason: command, DurationMS: time.Since(start).Milliseconds()})
			}
		}
	}
	if len(failed) > 0 {
		return &permanentError{err: fmt.Errorf("sync command failed: %s", strings.Join(failed, "; "))}
	}
	return nil
}
