//go:build linux

package supervisor

import (
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	cases := []struct {
		in      string
		want    syscall.Signal
		wantErr bool
	}{
		{in: "SIGTERM", want: syscall.SIGTERM},
		{in: "term", want: syscall.SIGTERM},
		{in: "HUP", want: syscall.SIGHUP},
		{in: "2", want: syscall.SIGINT},
		{in: "SIGNOPE", wantErr: true},
		{in: "0", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseSignal(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseSignal(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestExitStatusOf(t *testing.T) {
	exited := syscall.WaitStatus(3 << 8)
	if got := exitStatusOf(exited); got != (ExitStatus{Code: 3}) {
		t.Errorf("exit 3: %+v", got)
	}
	killed := syscall.WaitStatus(syscall.SIGKILL)
	if got := exitStatusOf(killed); got != (ExitStatus{Code: 137, Signal: "SIGKILL"}) {
		t.Errorf("SIGKILL: %+v", got)
	}
}
