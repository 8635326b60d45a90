//go:build linux

package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestForwardsSignalsToTheWholeGroup(t *testing.T) {
	needNode(t)
	// sh does not pass signals on to its child; only a signal to the group
	// reaches node, which is the supervisor's grandchild.
	script := `process.on("SIGUSR2", () => console.log("grandchild got SIGUSR2")); console.log("armed"); setInterval(() => {}, 1000)`
	s := startSupervisor(t, testConfig{Argv: []string{"sh", "-c", `trap "" USR2; node -e '` + script + `'; exit 3`}})
	s.waitOutput("armed", 1)

	nodes := 0
	for _, p := range descendants(s.pid()) {
		if p.comm == "node" {
			nodes++
			if p.ppid == s.pid() {
				t.Fatalf("node is a child of the supervisor; the test needs a grandchild")
			}
		}
	}
	if nodes != 1 {
		t.Fatalf("want one node process below the supervisor, found %d", nodes)
	}

	s.signal(syscall.SIGUSR2)
	s.waitOutput("grandchild got SIGUSR2", 1)

	if err := s.client.Signal(t.Context(), "USR2"); err != nil {
		t.Fatalf("signal request: %v", err)
	}
	s.waitOutput("grandchild got SIGUSR2", 2)
}

func TestReapsOrphans(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "go")
	// Each subshell leaves a loop behind and exits: the loops are orphans,
	// re-parented to the supervisor, and exit once the gate file exists (or
	// after a minute, so that a failed test leaves nothing running).
	orphan := `(n=0; while [ ! -e ` + gate + ` ] && [ $n -lt 6000 ]; do sleep 0.01; n=$((n+1)); done &)`
	s := startSupervisor(t, testConfig{Argv: []string{"sh", "-c", orphan + "; " + orphan + "; exec sleep 60"}})

	s.waitFor("two orphans re-parented to the supervisor", func() bool {
		return countComm(children(s.pid()), "sh") == 2
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the orphans to be reaped", func() bool {
		kids := children(s.pid())
		return len(kids) == 1 && kids[0].comm == "sleep"
	})
	for _, p := range descendants(s.pid()) {
		if p.state == "Z" {
			t.Errorf("zombie left: %+v", p)
		}
	}
}

func TestExitCodeIsTheCommands(t *testing.T) {
	cases := []struct {
		name string
		argv []string
		want int
	}{
		{name: "exit code", argv: []string{"sh", "-c", "exit 3"}, want: 3},
		{name: "success", argv: []string{"true"}, want: 0},
		{name: "killed by a signal", argv: []string{"sh", "-c", "kill -USR1 $$"}, want: 128 + int(syscall.SIGUSR1)},
		{name: "command not found", argv: []string{"devd-no-such-command"}, want: 127},
		{name: "not executable", argv: []string{"/etc/passwd"}, want: 126},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSubprocess(t, testConfig{Argv: tc.argv})
			if got := s.wait(); got != tc.want {
				t.Fatalf("exit code %d, want %d; output:\n%s", got, tc.want, s.out.String())
			}
		})
	}
}

func TestStopEndsWithTheCommandsStatus(t *testing.T) {
	s := startSupervisor(t, testConfig{Argv: []string{"sh", "-c", `trap "echo stopping; exit 23" TERM; echo armed; while :; do sleep 0.05; done`}})
	s.waitOutput("armed", 1)
	s.signal(syscall.SIGTERM)
	if got := s.wait(); got != 23 {
		t.Fatalf("exit code %d, want the command's 23", got)
	}
	if !strings.Contains(s.out.String(), "stopping") {
		t.Fatal("the command never saw SIGTERM")
	}
}

func TestStopKillsCommandIgnoringSIGTERMAfterGrace(t *testing.T) {
	s := startSupervisor(t, testConfig{
		Argv:  []string{"sh", "-c", `trap "" TERM; echo armed; while :; do sleep 0.05; done`},
		Grace: 300e6,
	})
	s.waitOutput("armed", 1)
	s.signal(syscall.SIGTERM)
	if got := s.wait(); got != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit code %d, want %d (SIGKILL)", got, 128+int(syscall.SIGKILL))
	}
}
