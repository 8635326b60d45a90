package control_test

import (
	"bytes"
	"testing"

	"github.com/devdtool/devd/control"
)

func TestWriteStatus(t *testing.T) {
	st := twoServices()
	st.Dashboard = "http://127.0.0.1:7080/"
	st.Services[1].Paused = true
	st.Services[1].PendingPaths = 2
	st.Services[1].Errors = []string{"restart failed: container shop-web-1 exited with code 1"}

	var buf bytes.Buffer
	if err := control.WriteStatus(&buf, st); err != nil {
		t.Fatal(err)
	}
	want := `devd v0.1.0 for project shop, pid 4242, started 12:00:00, engine unix:///var/run/docker.sock
dashboard http://127.0.0.1:7080/

api  running
  containers    shop-api-1 running
  restart mode  signal:SIGHUP
  last sync     3 files (2.1 KB) in 12 ms at 12:01:00
  last restart  src/routes.js changed, ready in 142 ms, at 12:01:00
  restarts      4
  debug         127.0.0.1:9229 -> container port 9229 (node), debugger connected (1 connection)

web  exited  paused
  containers    shop-web-1 exited
  restart mode  container
  last sync     none yet
  last restart  none yet
  restarts      0
  pending       2 changed paths
  debug         none
  error         restart failed: container shop-web-1 exited with code 1
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}
