package control_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/devdtool/devd/control"
)

// TestWriteStatusShowsPausedDebugger checks that the text status shows when a
// debugger holds the program at a breakpoint, as status --json does.
func TestWriteStatusShowsPausedDebugger(t *testing.T) {
	st := twoServices()
	st.Services[0].Debug = []control.DebugStatus{{
		Port: 9229, Address: "127.0.0.1:9230", Runtime: "node",
		Connections: 1, Connected: true, Debuggers: 1, Paused: true,
	}}
	var buf bytes.Buffer
	if err := control.WriteStatus(&buf, st); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "127.0.0.1:9230") {
			line = l
		}
	}
	if !strings.Contains(line, "paused") && !strings.Contains(line, "breakpoint") {
		t.Errorf("debug line %q does not say that the program is paused", line)
	}
}
