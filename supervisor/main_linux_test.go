//go:build linux

package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// childConfigEnv carries a testConfig to a copy of the test binary that runs
// the supervisor instead of the tests. The supervisor reaps every child of
// its process and takes SIGCHLD, so it cannot share a process with tests
// that start commands of their own.
const childConfigEnv = "DEVD_SUPERVISOR_TEST_CONFIG"

// testConfig is the JSON form of a Config for the supervisor subprocess.
type testConfig struct {
	Argv           []string
	StopSignal     string
	Grace          time.Duration
	Ports          []int
	ControlDir     string
	AbstractSocket string
	Ready          string

	// Env is added to the supervisor's environment, which its command
	// inherits.
	Env []string `json:"-"`
}

func TestMain(m *testing.M) {
	if raw := os.Getenv(childConfigEnv); raw != "" {
		os.Exit(runChildSupervisor(raw))
	}
	os.Exit(m.Run())
}

func runChildSupervisor(raw string) int {
	var tc testConfig
	if err := json.Unmarshal([]byte(raw), &tc); err != nil {
		fmt.Fprintf(os.Stderr, "decoding %s: %v\n", childConfigEnv, err)
		return 2
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "supervisor", Level: hclog.Debug, Output: os.Stderr})
	code, err := Run(context.Background(), Config{
		Service:        "test",
		Argv:           tc.Argv,
		StopSignal:     tc.StopSignal,
		Grace:          tc.Grace,
		Ports:          tc.Ports,
		ControlDir:     tc.ControlDir,
		AbstractSocket: tc.AbstractSocket,
		Ready:          tc.Ready,
		Logger:         log,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "supervisor: %v\n", err)
	}
	return code
}
