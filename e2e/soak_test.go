package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/control"
)

// soakDuration runs the soak test for that long; 0 skips it. make soak
// and CI set it through DEVD_SOAK or -soak.
var soakDuration = flag.Duration("soak", 0, "run the soak test for this long (also DEVD_SOAK, e.g. 5m or 1h)")

// Soak limits: how much the goroutine and open-file counts may grow
// between the first and the last sample, taken at rest. Growth past these
// is a leak, not noise.
const (
	soakGoroutineSlack = 10
	soakOpenFileSlack  = 5
	soakSampleEvery    = 30 * time.Second
)

func soakLength(t *testing.T) time.Duration {
	if *soakDuration > 0 {
		return *soakDuration
	}
	if v := os.Getenv("DEVD_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("DEVD_SOAK=%q: %v", v, err)
		}
		return d
	}
	return 0
}

// processSample is devd's process state at one moment.
type processSample struct {
	at  time.Duration
	gor int
	fds int
	rss int64
}

func (d *devdProcess) sample(t *testing.T, s *stack, start time.Time) processSample {
	t.Helper()
	cmd := exec.Command(devdBinary, "status", "--json")
	cmd.Dir = s.dir
	cmd.Env = s.env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("devd status --json: %v", err)
	}
	var st control.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("decoding devd status: %v\n%s", err, out)
	}
	if st.Process == nil {
		t.Fatalf("devd status has no process section:\n%s", out)
	}
	return processSample{at: time.Since(start), gor: st.Process.Goroutines, fds: st.Process.OpenFiles, rss: st.Process.RSSBytes}
}

// soakGit makes the notification folder a git repository with two
// branches that differ in a few dozen files, so the soak can check them
// out back and forth as a developer does.
func soakGit(t *testing.T, root string) func() {
	t.Helper()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=soak", "GIT_AUTHOR_EMAIL=soak@localhost",
			"GIT_COMMITTER_NAME=soak", "GIT_COMMITTER_EMAIL=soak@localhost")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("init", "-q", "-b", "main")
	run("add", "-A")
	run("commit", "-q", "-m", "base")
	run("checkout", "-q", "-b", "feature")
	for i := 0; i < 40; i++ {
		writeFile(t, filepath.Join(root, "feature", fmt.Sprintf("f%02d.js", i)), fmt.Sprintf("module.exports = %d;\n", i))
	}
	run("add", "-A")
	run("commit", "-q", "-m", "feature")
	run("checkout", "-q", "main")

	onFeature := false
	return func() {
		branch := "feature"
		if onFeature {
			branch = "main"
		}
		onFeature = !onFeature
		run("checkout", "-q", branch)
	}
}

func TestSoak(t *testing.T) {
	length := soakLength(t)
	if length == 0 {
		t.Skip("soak test runs only with -soak DURATION or DEVD_SOAK=DURATION (make soak, and CI for five minutes)")
	}
	s := startStack(t)
	d := startDevd(t, s, "--no-output")
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	checkout := soakGit(t, root)
	rng := rand.New(rand.NewSource(1))

	start := time.Now()
	settle(t, d, "notification")
	first := d.sample(t, s, start)
	samples := []processSample{first}
	nextSample := time.Now().Add(soakSampleEvery)
	edits := 0

	for time.Since(start) < length {
		switch r := rng.Intn(10); {
		case r < 6:
			// A burst of saves across both services.
			for i := 0; i < 1+rng.Intn(8); i++ {
				writeFile(t, filepath.Join(root, "lib", fmt.Sprintf("soak%d.js", rng.Intn(30))), fmt.Sprintf("module.exports = %d;\n", rng.Int()))
				edits++
			}
			writeFile(t, filepath.Join(s.dir, "api", "soak.js"), fmt.Sprintf("module.exports = %d;\n", rng.Int()))
		case r < 8:
			if victim := filepath.Join(root, "lib", fmt.Sprintf("soak%d.js", rng.Intn(30))); fileExists(victim) {
				if err := os.Remove(victim); err != nil {
					t.Fatal(err)
				}
				edits++
			}
		default:
			checkout()
			edits++
		}
		// Pauses from a few milliseconds to a few seconds, as people and
		// tools make them.
		time.Sleep(time.Duration(rng.Intn(3000)) * time.Millisecond)

		if time.Now().After(nextSample) {
			settle(t, d, "notification")
			samples = append(samples, d.sample(t, s, start))
			nextSample = time.Now().Add(soakSampleEvery)
		}
	}

	settle(t, d, "notification")
	waitConverged(t, root, id, appDir, "node_modules", ".git")
	last := d.sample(t, s, start)
	samples = append(samples, last)

	t.Logf("soak: %s, %d edits", length, edits)
	for _, p := range samples {
		t.Logf("  at %6s: %4d goroutines, %3d open files, %6.1f MB resident", p.at.Round(time.Second), p.gor, p.fds, float64(p.rss)/(1<<20))
	}
	if grow := last.gor - first.gor; grow > soakGoroutineSlack {
		t.Errorf("goroutines grew from %d to %d", first.gor, last.gor)
	}
	if grow := last.fds - first.fds; grow > soakOpenFileSlack {
		t.Errorf("open files grew from %d to %d", first.fds, last.fds)
	}
	hours := length.Hours()
	t.Logf("resident memory: %.1f MB at start, %.1f MB at end (%.1f MB per hour)",
		float64(first.rss)/(1<<20), float64(last.rss)/(1<<20), float64(last.rss-first.rss)/(1<<20)/hours)
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
