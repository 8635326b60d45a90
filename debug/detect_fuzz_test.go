package debug

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzDetect runs Detect on any command line, given as arguments separated
// by NUL bytes. It must not panic, must give the same result twice, and may
// only report ports from 1 to 65535, once each, of a known runtime.
func FuzzDetect(f *testing.F) {
	seeds := []string{
		"",
		"node\x00--inspect\x00app.js",
		"node\x00--inspect=0.0.0.0:9229\x00app.js",
		"node\x00--inspect-brk=[::]:9230\x00app.js",
		"node\x00--inspect=[::1]\x00--inspect-port=0",
		"node\x00--inspect-port\x0065535\x00--inspect=[",
		"node\x00--inspect=]\x00--inspect=[]",
		"node\x00--inspect=65536",
		"node\x00--inspect=-1",
		"node\x00--inspect=host:99999999999999999999",
		"node\x00--debug-port\x00",
		"node\x00--inspect-port",
		"sh\x00-c\x00NODE_OPTIONS=--inspect=0.0.0.0:9229 node a.js && dlv exec ./x --listen=:2345 -- --listen=:1",
		"sh\x00-c\x00node --inspect=9229; node --inspect=9229 & node --inspect=:9230 | cat",
		"dlv\x00exec\x00./app\x00--headless\x00--listen=:2345\x00--api-version=2",
		"/go/bin/dlv\x00debug\x00-l\x00127.0.0.1:40000",
		"dlv\x00-l",
		"dlv\x00--listen=[::1]:0",
		"dlv\x00--listen=:+80",
		"dlv\x00--listen=:-0",
		"dlv\x00--listen=[fe80::1%eth0]:2345",
		"node\x00'--inspect=\"0.0.0.0:9229\"'",
		"node\x00--inspect=localhost:9229\x00;\x00;;\x00&&",
		"node\x00--inspect=\xff\xfe:1",
		"node --inspect=0.0.0.0:${PORT}",
		"node\x00--inspect=0x10",
		"node\x00--inspect=1_000",
	}
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, cmdline string) {
		args := strings.Split(cmdline, "\x00")
		got := Detect(args)
		if again := Detect(args); !reflect.DeepEqual(got, again) {
			t.Fatalf("Detect(%q) gave %+v, then %+v", args, got, again)
		}
		seen := map[int]bool{}
		for _, d := range got {
			if d.Port < 1 || d.Port > 65535 {
				t.Fatalf("Detect(%q) reported port %d", args, d.Port)
			}
			if seen[d.Port] {
				t.Fatalf("Detect(%q) reported port %d twice", args, d.Port)
			}
			seen[d.Port] = true
			if d.Runtime != RuntimeNode && d.Runtime != RuntimeGo {
				t.Fatalf("Detect(%q) reported runtime %q", args, d.Runtime)
			}
			if d.Flag == "" {
				t.Fatalf("Detect(%q) reported port %d with no flag", args, d.Port)
			}
			if want := d.Host != "" && IsLoopback(d.Host); d.LoopbackOnly != want {
				t.Fatalf("Detect(%q) reported host %q with LoopbackOnly %v", args, d.Host, d.LoopbackOnly)
			}
		}
	})
}
