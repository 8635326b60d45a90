package control

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// clockLayout is the time format of syncs and restarts in `devd status`.
const clockLayout = "15:04:05"

// WriteStatus writes the status as `devd status` shows it: a header line
// for devd, then one block per service. Times are written in their own
// location, which is devd's local time zone for a status read from JSON.
func WriteStatus(w io.Writer, st Status) error {
	var b strings.Builder
	fmt.Fprintf(&b, "devd %s for project %s, pid %d", st.Version, st.Project, st.PID)
	if !st.Started.IsZero() {
		fmt.Fprintf(&b, ", started %s", formatClock(st.Started))
	}
	if st.Engine != "" {
		fmt.Fprintf(&b, ", engine %s", st.Engine)
	}
	b.WriteString("\n")
	if st.Dashboard != "" {
		fmt.Fprintf(&b, "dashboard %s\n", st.Dashboard)
	}
	if len(st.Services) == 0 {
		b.WriteString("\nno services\n")
	}

	for _, svc := range st.Services {
		b.WriteString("\n")
		writeService(&b, svc)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeService(b *strings.Builder, svc ServiceStatus) {
	header := []string{svc.Name, containersState(svc.Containers)}
	if svc.Paused {
		header = append(header, "paused")
	}
	if !svc.Watched {
		header = append(header, "not watched")
	}
	fmt.Fprintln(b, strings.Join(header, "  "))

	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	row := func(label, value string) { fmt.Fprintf(tw, "  %s\t%s\n", label, value) }

	row("containers", containersList(svc.Containers))
	row("restart mode", orNone(svc.RestartMode))
	row("last sync", lastSync(svc.LastSync))
	row("last restart", lastRestart(svc.LastRestart))
	row("restarts", fmt.Sprint(svc.RestartCount))
	if svc.PendingPaths > 0 {
		row("pending", plural(svc.PendingPaths, "changed path"))
	}
	if len(svc.Debug) == 0 {
		row("debug", "none")
	}
	for _, d := range svc.Debug {
		row("debug", debugEndpoint(d))
	}
	for _, e := range svc.Errors {
		row("error", e)
	}
	tw.Flush()
}

// containersState sums up the containers' states in one word.
func containersState(cs []ContainerStatus) string {
	if len(cs) == 0 {
		return "no container"
	}
	for _, c := range cs {
		if c.State != "running" {
			return c.State
		}
	}
	return "running"
}

func containersList(cs []ContainerStatus) string {
	if len(cs) == 0 {
		return "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + c.State
	}
	return strings.Join(parts, ", ")
}

func lastSync(s *SyncStatus) string {
	if s == nil {
		return "none yet"
	}
	return fmt.Sprintf("%s (%s) in %s at %s", plural(s.Files, "file"), formatBytes(s.Bytes), formatMS(s.DurationMS), formatClock(s.Time))
}

func lastRestart(r *RestartStatus) string {
	if r == nil {
		return "none yet"
	}
	parts := []string{orNone(r.Reason)}
	if r.ReadyMS > 0 {
		parts = append(parts, "ready in "+formatMS(r.ReadyMS))
	}
	parts = append(parts, "at "+formatClock(r.Time))
	return strings.Join(parts, ", ")
}

func debugEndpoint(d DebugStatus) string {
	s := fmt.Sprintf("%s -> container port %d", d.Address, d.Port)
	if d.Runtime != "" {
		s += " (" + d.Runtime + ")"
	}
	if d.Connected {
		s += ", debugger connected (" + plural(d.Connections, "connection") + ")"
	} else {
		s += ", no debugger connected"
	}
	if d.Paused {
		s += ", program paused at a breakpoint"
	}
	return s
}

func formatClock(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.Format(clockLayout)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
