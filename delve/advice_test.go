package delve

import (
	"strings"
	"testing"
)

func TestAdvice(t *testing.T) {
	tests := []struct {
		name   string
		output string
		code   int
		want   []string // substrings of the advice; none means no advice
	}{
		{
			// As printed by dlv v1.27.2 in a container whose seccomp
			// profile denies ptrace.
			name: "ptrace denied at launch",
			output: "API server listening at: [::]:2345\n" +
				"2026-01-01T00:00:00Z warn layer=rpc Listening for remote connections (connections are not authenticated nor encrypted)\n" +
				"could not launch process: fork/exec /app/server: operation not permitted\n",
			code: 1,
			want: []string{"cap_add: [SYS_PTRACE]", "security_opt: [seccomp:unconfined]"},
		},
		{
			name:   "ptrace denied at attach",
			output: "could not attach to pid 7: operation not permitted",
			code:   1,
			want:   []string{"cap_add: [SYS_PTRACE]", "security_opt: [seccomp:unconfined]"},
		},
		{
			name:   "yama",
			output: `Could not attach to pid 7: this could be caused by a kernel security setting, try writing "0" to /proc/sys/kernel/yama/ptrace_scope`,
			code:   1,
			want:   []string{"cap_add: [SYS_PTRACE]"},
		},
		{name: "shell cannot find dlv", output: "sh: dlv: not found", code: 127, want: []string{"go install github.com/go-delve/delve/cmd/dlv", "COPY"}},
		{name: "runtime cannot find dlv", output: `exec: "dlv": executable file not found in $PATH: unknown`, code: 127, want: []string{"not installed"}},
		{name: "not executable", output: "sh: /usr/local/bin/dlv: Permission denied", code: 126, want: []string{"chmod +x"}},
		{name: "continue alone", output: "Error: --continue requires --accept-multiclient", code: 1, want: []string{"--accept-multiclient"}},
		{name: "binary missing", output: "could not launch process: stat /app/server: no such file or directory", code: 1, want: []string{"dlv exec"}},
		{name: "port taken", output: "couldn't start listener: listen tcp :2345: bind: address already in use", code: 1, want: []string{"port"}},
		{name: "unrelated", output: "panic: nil map", code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Advice(tt.output, tt.code)
			if len(tt.want) == 0 && got != "" {
				t.Fatalf("Advice = %q, want none", got)
			}
			if len(tt.want) > 0 && got == "" {
				t.Fatal("Advice gave none")
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Advice = %q, missing %q", got, w)
				}
			}
		})
	}
}
