package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Log messages of the daemon's host builds and restarts.
const (
	buildingMsg   = "building"
	builtMsg      = "built"
	buildFailMsg  = "build failed; the running process keeps the previous code"
	buildOutMsg   = "build output"
	restartingMsg = "restarting"
	restartedMsg  = "restarted"
)

// billingOverrideTemplate gives the billing service of a test stack its
// own container name and a free host port. It is appended to the
// harness's override file, under its `services:` key.
const billingOverrideTemplate = `  billing:
    container_name: %[1]s-billing
    ports: !override
      - "127.0.0.1:%[2]d:5000"
`

// billingStack is a test stack whose billing service (Compose profile go)
// is published on a port of its own.
type billingStack struct {
	*stack
	billingPort int
}

func (b *billingStack) billingURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/", b.billingPort)
}

// messageFile is the host path of billing's message.go.
func (b *billingStack) messageFile() string {
	return filepath.Join(b.dir, "billing", "message.go")
}

// prepareBilling is prepareStack with billing in the override file.
// xdevd, indented for its place under `billing:`, is added there too.
func prepareBilling(t *testing.T, xdevd string) *billingStack {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the billing service is built on the host and needs go on PATH")
	}
	s := prepareStack(t)
	b := &billingStack{stack: s, billingPort: freePort(t)}

	overridePath := filepath.Join(s.dir, "compose.override.yaml")
	current, err := os.ReadFile(overridePath)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, overridePath, string(current)+fmt.Sprintf(billingOverrideTemplate, s.project, b.billingPort)+xdevd)
	// A binary built on the developer's machine must not serve a test.
	if err := os.RemoveAll(filepath.Join(s.dir, "billing", "bin")); err != nil {
		t.Fatal(err)
	}

	// The harness's `docker compose down` removes the container; the image
	// is made by every run, so it goes as well.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
		defer cancel()
		image := s.project + "-billing"
		if out, err := exec.CommandContext(ctx, "docker", "image", "rm", "--force", image).CombinedOutput(); err != nil {
			t.Logf("removing image %s: %v\n%s", image, err, out)
		}
	})
	return b
}

// billingSource returns the source of a message.go whose Message is msg.
func billingSource(msg string) string {
	return "package main\n\n// Message is written by the end-to-end tests.\nconst Message = " + strconv.Quote(msg) + "\n"
}

// instance decodes the `instance` field of a service's JSON response.
func instance(body string) string {
	var v struct {
		Instance string `json:"instance"`
	}
	_ = json.Unmarshal([]byte(body), &v)
	return v.Instance
}

// billingService selects the daemon's log entries about billing.
var billingService = map[string]string{"service": "billing"}

func TestBuildEditCompileErrorAndFix(t *testing.T) {
	b := prepareBilling(t, "")
	d := startDevd(t, b.stack, "up", "--profile", "go")
	first := waitHTTP(t, b.billingURL(), func(body string) bool { return message(body) == "hello from billing" })
	id := b.containerID("billing")

	// An edit is built on the host once, copied in and served by a new
	// process in the same container.
	writeFile(t, b.messageFile(), billingSource("edited billing"))
	waitHTTP(t, b.billingURL(), func(body string) bool { return message(body) == "edited billing" })
	checkBuilds(t, settleBuilds(t, d), 1, 0)
	edited, err := httpGet(b.billingURL())
	if err != nil || message(edited) != "edited billing" {
		t.Fatalf("billing answers %q (%v) once the builds ended, want the edit", edited, err)
	}
	if instance(edited) == instance(first) {
		t.Errorf("the new code is served by the same process instance %s", instance(first))
	}
	if got := b.containerID("billing"); got != id {
		t.Errorf("container id changed from %s to %s; a build restarts the process, not the container", id, got)
	}
	if n := d.countLogs(restartingMsg, map[string]string{"service": "billing", "mode": "process"}); n != 1 {
		t.Errorf("devd logged %d process restarts of billing for one edit, want 1", n)
	}

	// A compile error leaves the running process alone and shows the
	// compiler's message.
	writeFile(t, b.messageFile(), "package main\n\nconst Message = notDeclared\n")
	d.waitLog(buildFailMsg, billingService)
	checkBuilds(t, settleBuilds(t, d), 2, 1)
	if out := buildFailureOutput(d); !strings.Contains(out, "undefined: notDeclared") || !strings.Contains(out, "message.go") {
		t.Errorf("devd's log does not show the compiler's message; build output: %q", out)
	}
	body, err := httpGet(b.billingURL())
	if err != nil {
		t.Fatalf("billing stopped answering after a failed build: %v", err)
	}
	if message(body) != "edited billing" || instance(body) != instance(edited) {
		t.Errorf("after a failed build billing answers %s; want the previous process (instance %s) with the previous code", body, instance(edited))
	}
	if n := d.countLogs(restartingMsg, billingService); n != 1 {
		t.Errorf("devd restarted billing after a failed build (%d restarts in all, want 1)", n)
	}

	// Fixing the file serves the fixed code.
	writeFile(t, b.messageFile(), billingSource("fixed billing"))
	waitHTTP(t, b.billingURL(), func(body string) bool { return message(body) == "fixed billing" })
	checkBuilds(t, settleBuilds(t, d), 3, 1)
}

// buildFailureOutput returns the compiler's output that devd logged with
// its last failed build of billing: the failure's own `output` field, or
// the "build output" entry logged with it.
func buildFailureOutput(d *devdProcess) string {
	d.t.Helper()
	failed := d.logs(buildFailMsg, billingService)
	if len(failed) == 0 {
		return ""
	}
	if out, ok := failed[len(failed)-1]["output"].(string); ok && out != "" {
		return out
	}
	if outs := d.logs(buildOutMsg, billingService); len(outs) > 0 {
		out, _ := outs[len(outs)-1]["output"].(string)
		return out
	}
	return ""
}

// Saves of the slow-build scenario, as a person makes them: a save, a
// second one soon after, a third one while the first build runs.
const (
	slowBuildTime   = 2 * time.Second
	secondSaveAfter = 300 * time.Millisecond
	thirdSaveAfter  = 1500 * time.Millisecond
)

func TestBuildSavesDuringSlowBuild(t *testing.T) {
	// The build command records its start and end outside the project, so
	// that the test checks the builds themselves, not only devd's log.
	// Compose reads $$ as a literal $.
	marks := filepath.Join(t.TempDir(), "builds.log")
	script := fmt.Sprintf("echo start >> %[1]s; sleep %[2]d; go build -o bin/billing .; status=$$?; echo end >> %[1]s; exit $$status",
		marks, int(slowBuildTime/time.Second))
	b := prepareBilling(t, "    x-devd:\n      build:\n        command: "+strconv.Quote(script)+"\n")
	d := startDevd(t, b.stack, "up", "--profile", "go")
	waitHTTP(t, b.billingURL(), func(body string) bool { return message(body) == "hello from billing" })

	// The pauses between saves are the scenario itself, not a wait for a
	// condition.
	writeFile(t, b.messageFile(), billingSource("save 1"))
	time.Sleep(secondSaveAfter)
	writeFile(t, b.messageFile(), billingSource("save 2"))
	time.Sleep(thirdSaveAfter)
	writeFile(t, b.messageFile(), billingSource("save 3"))

	waitHTTP(t, b.billingURL(), func(body string) bool { return message(body) == "save 3" })
	seq := settleBuilds(t, d)

	for i := 1; i < len(seq); i++ {
		if seq[i].msg == buildingMsg && seq[i-1].msg == buildingMsg {
			t.Errorf("devd started a build of billing before the previous one ended:\n%s", describeBuilds(seq))
			break
		}
	}
	// The first save starts a build, and the later ones come while it runs.
	// They need one more build, or two when the third save misses the first.
	if n := countOf(seq, buildingMsg); n < 2 || n > 3 {
		t.Errorf("devd ran %d builds for three saves, want 2 or 3:\n%s", n, describeBuilds(seq))
	}
	data, err := os.ReadFile(marks)
	if err != nil {
		t.Fatal(err)
	}
	ran := strings.Fields(string(data))
	for i, m := range ran {
		if want := []string{"start", "end"}[i%2]; m != want {
			t.Errorf("build commands overlapped: mark %d is %q, want %q; all marks: %v", i, m, want, ran)
			break
		}
	}

	var billing, zombies []string
	for _, p := range processList(t, b.stack, "billing") {
		fields := strings.Fields(p)
		if len(fields) >= 2 && fields[1] == "Z" {
			zombies = append(zombies, p)
		}
		if len(fields) >= 3 && fields[2] == "/app/billing" {
			billing = append(billing, p)
		}
	}
	if len(billing) != 1 {
		t.Errorf("%d billing processes run, want 1:\n%s", len(billing), strings.Join(billing, "\n"))
	}
	if len(zombies) > 0 {
		t.Errorf("zombie processes:\n%s", strings.Join(zombies, "\n"))
	}
	body, err := httpGet(b.billingURL())
	if err != nil || message(body) != "save 3" {
		t.Errorf("at the end billing answers %q (%v), want the newest save", body, err)
	}
}

// buildQuiet is how long devd's build and restart entries for billing
// must stay unchanged before settleBuilds takes the service as settled:
// that no further build follows can only be seen by waiting.
const buildQuiet = time.Second

// buildEntry is one of the daemon's build or restart log entries.
type buildEntry struct {
	msg    string
	reason string
}

// settleBuilds waits until every build and restart that devd started for
// billing has ended and nothing new was logged for buildQuiet, and returns
// the build entries.
func settleBuilds(t *testing.T, d *devdProcess) []buildEntry {
	t.Helper()
	var last int
	var since time.Time
	waitFor(t, changeTimeout, "devd's builds and restarts of billing to end", func() bool {
		all := buildEntries(d, true)
		if len(all) != last || since.IsZero() {
			last, since = len(all), time.Now()
			return false
		}
		if len(all) > 0 {
			if m := all[len(all)-1].msg; m == buildingMsg || m == restartingMsg {
				return false
			}
		}
		return time.Since(since) >= buildQuiet
	})
	return buildEntries(d, false)
}

// buildEntries returns the daemon's build entries for billing in the
// order devd wrote them: building, then built or build failed. With
// restarts, the restarting and restarted entries are included.
func buildEntries(d *devdProcess, restarts bool) []buildEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	var seq []buildEntry
	for _, l := range d.lines {
		if l["service"] != "billing" {
			continue
		}
		m, _ := l["@message"].(string)
		switch m {
		case buildingMsg, builtMsg, buildFailMsg:
		case restartingMsg, restartedMsg:
			if !restarts {
				continue
			}
		default:
			continue
		}
		reason, _ := l["reason"].(string)
		seq = append(seq, buildEntry{msg: m, reason: reason})
	}
	return seq
}

// checkBuilds fails the test unless devd's log shows the given numbers of
// builds of billing and of failed builds.
func checkBuilds(t *testing.T, seq []buildEntry, builds, failed int) {
	t.Helper()
	if countOf(seq, buildingMsg) != builds || countOf(seq, buildFailMsg) != failed {
		t.Errorf("devd ran %d builds of billing, %d failed; want %d and %d:\n%s",
			countOf(seq, buildingMsg), countOf(seq, buildFailMsg), builds, failed, describeBuilds(seq))
	}
}

func describeBuilds(seq []buildEntry) string {
	var b strings.Builder
	for _, e := range seq {
		fmt.Fprintf(&b, "  %s", e.msg)
		if e.reason != "" {
			fmt.Fprintf(&b, " (%s)", e.reason)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func countOf(seq []buildEntry, msg string) int {
	n := 0
	for _, e := range seq {
		if e.msg == msg {
			n++
		}
	}
	return n
}

// processList returns the container's processes as "pid state command"
// lines, read from /proc so that no ps is needed in the image. A process
// that ends during the listing is left out.
func processList(t *testing.T, s *stack, service string) []string {
	t.Helper()
	out, err := s.exec(service, "sh", "-c",
		`for d in /proc/[0-9]*; do [ -r $d/stat ] && echo "$(cut -d' ' -f1,3 $d/stat 2>/dev/null) $(tr '\0' ' ' 2>/dev/null <$d/cmdline)"; done 2>/dev/null; exit 0`)
	if err != nil {
		t.Fatalf("reading the process table of %s: %v\n%s", service, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
