package control

import (
	"fmt"
	"strings"
	"time"

	"github.com/devdtool/devd/event"
)

// tone is the colour class of a line.
type tone int

const (
	toneNormal tone = iota
	toneGood        // a service serves again, the engine is back
	toneBad         // a failure
	toneOutput      // a line of a service's output
)

// line is the text of one event, in parts that a terminal may colour.
type line struct {
	source string // the service, or "devd" for project-wide events
	sep    string // ": ", or " | " before a service's output
	text   string
	tone   tone
}

func (l line) String() string { return l.source + l.sep + l.text }

// Describe returns the one-line text of an event, as `devd logs` and the
// dashboard show it, without a timestamp: "api: synced 3 files (2.1 KB) in
// 12 ms", "api | <output line>".
func Describe(e event.Event) string {
	return describe(e).String()
}

func describe(e event.Event) line {
	l := line{source: e.Service, sep: ": ", tone: toneNormal}
	if l.source == "" {
		l.source = "devd"
	}
	because := reason(e)

	switch e.Type {
	case event.Output:
		l.sep, l.text, l.tone = " | ", e.Text, toneOutput
	case event.Started:
		l.text = "started" + because
	case event.Watching:
		l.text = "watching" + because
	case event.DebugListening:
		l.text, l.tone = "attach a debugger at "+e.Address+because, toneGood
	case event.ConfigReloaded:
		l.text = "configuration reloaded" + because
	case event.ConfigInvalid:
		l.text, l.tone = "configuration is invalid, the previous rules stay in force"+because+failure(e), toneBad
	case event.ContainerWaiting:
		l.text = "changes wait for a running container" + changed(e)
	case event.SyncStarted:
		l.text = "syncing" + count(e.Files, "file") + into(e.Container) + because
	case event.SyncDone:
		l.text = fmt.Sprintf("synced %s (%s) in %s", plural(e.Files, "file"), formatBytes(e.Bytes), formatMS(e.DurationMS))
	case event.SyncProgress:
		if e.Phase == "done" {
			l.text = fmt.Sprintf("sync%s done: %d/%s", into(e.Container), e.Files, plural(e.TotalFiles, "file"))
		} else {
			l.text = "still syncing" + into(e.Container) + ": " + progressCount(e) + after(e.DurationMS)
		}
	case event.SyncFailed:
		l.text, l.tone = "sync"+into(e.Container)+" failed, will retry"+because+failure(e), toneBad
	case event.RestartStarted:
		l.text = "restarting" + because
	case event.RestartReady:
		l.text, l.tone = "ready"+in(e.DurationMS), toneGood
	case event.RestartFailed:
		l.text, l.tone = "restart failed"+because+failure(e), toneBad
	case event.BuildStarted:
		l.text = "building" + because
	case event.BuildDone:
		l.text = "built" + in(e.DurationMS)
	case event.BuildFailed:
		l.text, l.tone = "build failed"+because+failure(e), toneBad
	case event.ExecDone:
		l.text = "ran the sync command" + into(e.Container) + in(e.DurationMS)
	case event.ExecFailed:
		l.text, l.tone = "the sync command failed"+into(e.Container)+failure(e), toneBad
	case event.ServiceExited:
		l.text, l.tone = "process exited"+because+failure(e), toneBad
	case event.DebuggerAttached:
		l.text = "debugger attached at " + e.Address
	case event.DebuggerDetached:
		l.text = "debugger detached from " + e.Address
	case event.Paused:
		target := "paused"
		if e.Service == "" {
			target = "paused every service"
		}
		l.text = target + because + ": changes are kept until 'devd resume'"
	case event.Resumed:
		target := "resumed"
		if e.Service == "" {
			target = "resumed every service"
		}
		l.text = target + because
	case event.LoopStopped:
		l.text, l.tone = "restart loop stopped", toneBad
		if len(e.Paths) > 0 {
			l.text += ": changes to " + strings.Join(e.Paths, ", ") + " no longer restart it"
		}
		if e.Reason != "" {
			l.text += " (" + e.Reason + ")"
		}
	case event.EngineLost:
		l.text, l.tone = "lost the Docker engine, reconnecting"+because+failure(e), toneBad
	case event.EngineBack:
		l.text, l.tone = "the Docker engine is back"+after(e.DurationMS)+because, toneGood
	default:
		l.text = string(e.Type) + because + failure(e)
		if e.Error != "" {
			l.tone = toneBad
		}
	}
	return l
}

// progressCount returns how far a reconciliation got: "812/2000 files (1.2 MB
// of 3.4 MB)", or "comparing with the host" while the totals are unknown.
func progressCount(e event.Event) string {
	if e.TotalFiles == 0 {
		return "comparing with the host"
	}
	s := fmt.Sprintf("%d/%s", e.Files, plural(e.TotalFiles, "file"))
	if e.TotalBytes > 0 {
		s += fmt.Sprintf(" (%s of %s)", formatBytes(e.Bytes), formatBytes(e.TotalBytes))
	}
	return s
}

// reason returns " (why)" from the event's reason, or from its paths when
// it has no reason, or "".
func reason(e event.Event) string {
	switch {
	case e.Reason != "":
		return " (" + e.Reason + ")"
	case len(e.Paths) == 1:
		return " (" + e.Paths[0] + " changed)"
	case len(e.Paths) > 1:
		return " (" + strings.Join(e.Paths, ", ") + " changed)"
	}
	return ""
}

// changed returns " (paths changed)" from the event's paths, or its reason
// when it has no paths.
func changed(e event.Event) string {
	if len(e.Paths) > 0 {
		return " (" + strings.Join(e.Paths, ", ") + " changed)"
	}
	return reason(e)
}

func failure(e event.Event) string {
	if e.Error == "" {
		return ""
	}
	return ": " + e.Error
}

func into(container string) string {
	if container == "" {
		return ""
	}
	return " into " + container
}

func in(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return " in " + formatMS(ms)
}

func after(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return " after " + formatMS(ms)
}

// count returns " N nouns", or "" when n is 0 because the event does not
// carry a count.
func count(n int, noun string) string {
	if n <= 0 {
		return ""
	}
	return " " + plural(n, noun)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// formatBytes writes a size with binary multiples: "512 B", "2.1 KB",
// "3.4 MB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value := float64(n) / unit
	for _, suffix := range []string{"KB", "MB", "GB"} {
		if value < unit {
			return fmt.Sprintf("%.1f %s", value, suffix)
		}
		value /= unit
	}
	return fmt.Sprintf("%.1f TB", value)
}

// formatMS writes a duration in milliseconds: "12 ms", "1.5 s", "2m5s".
func formatMS(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1f s", float64(ms)/1000)
	}
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}
