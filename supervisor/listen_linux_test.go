//go:build linux

package supervisor

import (
	"os"
	"syscall"
	"testing"
)

func TestControlSockets(t *testing.T) {
	s := startSupervisor(t, testConfig{Argv: []string{"sleep", "60"}})

	info, err := os.Stat(s.socket)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != socketMode {
		t.Fatalf("socket mode %o, want %o so that another uid can connect", mode, socketMode)
	}

	st, err := NewSocketClient(s.abstract).Status(t.Context())
	if err != nil {
		t.Fatalf("status through the abstract socket: %v", err)
	}
	if !st.Running || st.PID == 0 || st.Service != "test" {
		t.Fatalf("status %+v", st)
	}

	// The socket is removed when the supervisor ends.
	s.signal(syscall.SIGTERM)
	s.wait()
	if _, err := os.Stat(s.socket); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

func TestControlSocketReplacesStaleFile(t *testing.T) {
	dir := t.TempDir()
	first := startSupervisor(t, testConfig{Argv: []string{"sleep", "60"}, ControlDir: dir})
	first.kill() // SIGKILL leaves the socket file behind

	second := startSupervisor(t, testConfig{Argv: []string{"sleep", "60"}, ControlDir: dir})
	if st := second.status(); st.PID == 0 {
		t.Fatalf("status %+v", st)
	}
}
