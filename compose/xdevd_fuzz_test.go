package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
)

// FuzzParseExtension feeds parseExtension the value of any YAML document, as
// the YAML package compose-go uses decodes it. It must never panic, must be
// deterministic, and an error must be a *fieldError whose key is the path of
// a key in the input (or of a required key missing from a mapping in it) and
// starts its message. What it accepts must be usable as it is.
func FuzzParseExtension(f *testing.F) {
	seeds := []string{
		"",
		"~",
		"{}",
		"[]",
		"watch: true\nrestart: process\n",
		"watch: 'false'\nrestart: signal:hup\n",
		"restart: signal:SIGKILL\n",
		"restart: signal:\n",
		"restart: signal:9\n",
		"restart: [process]\n",
		"debug:\n  - port: 9229\n    runtime: node\n  - port: '2345'\n    runtime: go\n    listen: 127.0.0.1:12345\n",
		"debug:\n  - {port: 9229, listen: '0.0.0.0:9229'}\n",
		"debug:\n  - {port: 9229, listen: '0.0.0.0:9229', allow_remote: true}\n",
		"debug:\n  - {port: 9229, listen: '[::1]:9229'}\n",
		"debug:\n  - {port: 9229, listen: ':99999'}\n",
		"debug:\n  - {port: 9229}\n  - {port: 9229}\n",
		"debug:\n  - {port: 0}\n",
		"debug:\n  - {port: 4294967297}\n",
		"debug:\n  - {port: 9229.5}\n",
		"debug:\n  - {port: -1}\n",
		"debug:\n  - {port: 1e400}\n",
		"debug:\n  - {runtime: node}\n",
		"debug:\n  - {port: 1, brk: yes}\n",
		"debug: {port: 9229}\n",
		"ready: tcp:3000\n",
		"ready: 'http://localhost:3000/health'\n",
		"ready: 'http://:0'\n",
		"ready: 'http://[::1]:65536/'\n",
		"ready: 'log:^listening on \\d+'\n",
		"ready: 'log:('\n",
		"ready: 'log:'\n",
		"ready: 'log:(?P<x'\n",
		"user: '1000:1000'\n",
		"user: '4294967295:0'\n",
		"user: 'root:root'\n",
		"user: 1000\n",
		"poll: 1s\n",
		"poll: 0\n",
		"poll: '0'\n",
		"poll: 10ms\n",
		"poll: -1s\n",
		"poll: 9223372036854775807ns\n",
		"poll: 1.5\n",
		"gitignore: TRUE\ndebug_wait: 'False'\nsupervise: true\n",
		"build:\n  command: go build -o bin/app ./cmd/app\n  output: bin/app\n  target: /app/server\n",
		"build:\n  command: [go, build, '-o', bin/app]\n  output: bin/app\n  target: /app/server\n  env: {CGO_ENABLED: 0, GOOS: linux, X: true}\n  watch: [./cmd, go.mod]\n  workdir: .\n",
		"build:\n  command: ['']\n  output: x\n  target: /x\n",
		"build:\n  command: []\n",
		"build:\n  command: '  '\n",
		"build:\n  command: x\n  output: x\n  target: relative\n",
		"build:\n  command: x\n  output: x\n",
		"build:\n  command: x\n  output: x\n  target: /x\n  env: {'A=B': 1}\n",
		"build:\n  command: x\n  output: x\n  target: /x\n  env: {'': 1}\n",
		"build:\n  command: x\n  output: x\n  target: /x\n  env: {A: [1]}\n",
		"build:\n  command: x\n  output: x\n  target: /x\n  watch: []\n",
		"build:\n  command: x\n  output: x\n  target: /x\n  nope: 1\n",
		"unknown: 1\n",
		"1: 2\n",
		"? [a, b]\n: c\n",
		"a.b: 1\n",
		"debug:\n  - {port: 1, 'x[0]': 2}\n",
		"watch: !!binary aGVsbG8=\n",
		"watch: 2001-12-14t21:59:43.10-05:00\n",
		"anchors: &a {port: 1}\ndebug: [*a, *a]\n",
		"<<: {watch: true}\nrestart: none\n",
		// Interpolation happens before parsing: what reaches the parser is
		// the raw text when a variable is missing.
		"watch: ${WATCH:-true}\nrestart: ${RESTART:?set RESTART}\n",
		"ready: tcp:${PORT}\nuser: $${UID}:$$GID\n",
		"poll: ${POLL:-${DEFAULT_POLL:-1s}}\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, doc string) {
		var raw any
		if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
			return
		}
		ext, err := parseExtension(raw, true)
		ext2, err2 := parseExtension(raw, true)
		if fmt.Sprint(err) != fmt.Sprint(err2) || (err == nil && !reflect.DeepEqual(ext, ext2)) {
			t.Fatalf("parseExtension is not deterministic on %q: %v then %v", doc, err, err2)
		}
		if err != nil {
			checkFieldError(t, doc, raw, err)
			return
		}
		checkExtension(t, doc, ext)
	})
}

// checkFieldError checks that err names a key of raw, the x-devd value.
func checkFieldError(t *testing.T, doc string, raw any, err error) {
	t.Helper()
	var fe *fieldError
	if !errors.As(err, &fe) {
		t.Fatalf("parseExtension(%q) = %v (%T), want a *fieldError", doc, err, err)
	}
	if !strings.HasPrefix(err.Error(), fe.key+": ") || fe.message == "" {
		t.Fatalf("parseExtension(%q) = %q, which does not start with its key %q and a message", doc, err, fe.key)
	}
	rest, ok := strings.CutPrefix(fe.key, extensionKey)
	if !ok {
		t.Fatalf("parseExtension(%q): key %q is not under %s", doc, fe.key, extensionKey)
	}
	if !keyResolves(raw, rest, strings.Contains(fe.message, "is required")) {
		t.Fatalf("parseExtension(%q): key %q names nothing in the input (error %q)", doc, fe.key, err)
	}
}

// keyResolves reports whether the key path rest (".name" and "[i]" steps)
// leads to a value in v. With missing, the last step may be a key absent
// from its mapping. Map keys may hold "." or "[", so every key that fits is
// tried.
func keyResolves(v any, rest string, missing bool) bool {
	if rest == "" {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		if !strings.HasPrefix(rest, ".") {
			return false
		}
		for k, child := range x {
			after, ok := strings.CutPrefix(rest[1:], k)
			if ok && (after == "" || after[0] == '.' || after[0] == '[') && keyResolves(child, after, missing) {
				return true
			}
		}
		// A required key reported missing is the last step, with no "." or
		// "[" in its name.
		return missing && !strings.ContainsAny(rest[1:], ".[")
	case []any:
		idx, after, ok := strings.Cut(strings.TrimPrefix(rest, "["), "]")
		if !ok || !strings.HasPrefix(rest, "[") {
			return false
		}
		i, err := strconv.Atoi(idx)
		return err == nil && i >= 0 && i < len(x) && keyResolves(x[i], after, missing)
	}
	return false
}

// checkExtension checks that an accepted extension holds only usable values.
func checkExtension(t *testing.T, doc string, ext extension) {
	t.Helper()
	seen := map[int]bool{}
	for _, d := range ext.debug {
		if d.Port < 1 || d.Port > math.MaxUint16 {
			t.Fatalf("parseExtension(%q) accepted debug port %d", doc, d.Port)
		}
		if seen[d.Port] {
			t.Fatalf("parseExtension(%q) accepted debug port %d twice", doc, d.Port)
		}
		seen[d.Port] = true
		if d.Runtime != "" && d.Runtime != "node" && d.Runtime != "go" {
			t.Fatalf("parseExtension(%q) accepted runtime %q", doc, d.Runtime)
		}
	}
	if ext.poll != 0 && ext.poll < minPoll {
		t.Fatalf("parseExtension(%q) accepted poll interval %s", doc, ext.poll)
	}
	if r := ext.restart; r != nil {
		switch r.Kind {
		case RestartProcess, RestartContainer, RestartNone:
		case RestartSignal:
			if _, ok := restartSignal(r.Signal); !ok {
				t.Fatalf("parseExtension(%q) accepted restart signal %q", doc, r.Signal)
			}
		default:
			t.Fatalf("parseExtension(%q) accepted restart kind %q", doc, r.Kind)
		}
	}
	if b := ext.build; b != nil {
		if len(b.command) == 0 || b.command[0] == "" || b.output == "" || !strings.HasPrefix(b.target, "/") {
			t.Fatalf("parseExtension(%q) accepted an incomplete build %+v", doc, *b)
		}
	}
}

// fuzzLoadDeadline bounds one Load of a small fuzz Compose file.
const fuzzLoadDeadline = 5 * time.Second

// fuzzLoadDeniedKeys are the Compose keys that make the loader read other
// files. A fuzz file that holds one is not loaded, so that no input can make
// the test read /dev/zero or a file of the machine.
var fuzzLoadDeniedKeys = map[string]bool{
	"include": true, "env_file": true, "extends": true, "label_file": true, "file": true,
}

// FuzzLoad loads a fuzz Compose file, written alone into a temporary
// folder, with a fixed environment but for the fuzzed value of FUZZ. Load must return within its deadline,
// without panicking, and an error about x-devd must name the service and
// the key.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"services:\n  api:\n    image: node\n    x-devd: {}\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      restart: signal:hup\n      debug: [{port: 9229}]\n    develop:\n      watch:\n        - {path: ./src, target: /app/src, action: sync}\n",
		"services:\n  api:\n    image: node\n    command: node --inspect=0.0.0.0:9229 app.js\n    x-devd: {watch: true}\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      restart: ${RESTART:?RESTART must be set}\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      restart: ${A:-${B:-${C:-process}}}\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      ready: tcp:$${PORT}\n      user: $$UID\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      ready: tcp:${NUMBER}\n      poll: ${EMPTY:-1s}\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      watch: ${UNSET}\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      ready: tcp:${NUMBER:?}${\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      debug: [{port: '${NUMBER}'}, {port: '${NUMBER}'}]\n",
		"services:\n  api:\n    image: node\n    x-devd: [1]\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      build: {command: go build, output: bin/app, target: /app/app, watch: [.]}\n",
		"x-devd: {watch: true}\nservices:\n  api: {image: node}\n",
		"services:\n  api:\n    image: node\n    x-devd: &x {watch: true}\n  web:\n    image: node\n    x-devd: *x\n",
		"services:\n  api:\n    build: .\n    x-devd:\n      restart: container\n",
		"services: {}\n",
		"services:\n  api:\n    image: node\n    profiles: [dev]\n    x-devd: {}\n",
		"name: ${NAME:-demo}\nservices:\n  api:\n    image: node\n",
		"services:\n  api:\n    image: node\n---\nservices:\n  web:\n    image: node\n",
		"services:\n  api:\n    image: node\n    x-devd:\n      restart: !reset null\n",
		"{",
	}
	for _, s := range seeds {
		f.Add(s, "9229")
	}
	// FUZZ is the one variable whose value is fuzzed.
	fuzzed := "services:\n  api:\n    image: node\n    command: ${FUZZ}\n    x-devd:\n      restart: ${FUZZ:-process}\n      ready: tcp:${FUZZ}\n      debug: [{port: '${FUZZ}', listen: '127.0.0.1:${FUZZ}'}]\n      poll: ${FUZZ:?needs a value}\n"
	for _, v := range []string{"", "1s", "signal:usr1", "node --inspect=0.0.0.0:9229", "${NUMBER}", "$$", "'", "\n", "99999"} {
		f.Add(fuzzed, v)
	}

	f.Fuzz(func(t *testing.T, doc, value string) {
		if !fuzzLoadAllowed(doc) {
			return
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := Options{
			Files:      []string{file},
			WorkingDir: dir,
			Environ:    []string{"HOME=" + dir, "NUMBER=3000", "EMPTY=", "NESTED=${NUMBER}", "RESTART=process", "FUZZ=" + value},
		}

		ctx, cancel := context.WithTimeout(context.Background(), fuzzLoadDeadline)
		defer cancel()
		type result struct {
			p   *Project
			err error
		}
		done := make(chan result, 1)
		go func() {
			p, err := Load(ctx, opts, nil)
			done <- result{p, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(fuzzLoadDeadline + time.Second):
			t.Fatalf("Load did not return within %s on %q with FUZZ=%q", fuzzLoadDeadline, doc, value)
		}

		var ce *ConfigError
		if errors.As(res.err, &ce) && strings.HasPrefix(ce.Key, extensionKey) {
			if ce.Service == "" || !strings.Contains(res.err.Error(), ce.Key+": ") {
				t.Fatalf("Load(%q) = %q: an x-devd error must name its service and key", doc, res.err)
			}
		}
		if res.err == nil && res.p == nil {
			t.Fatalf("Load(%q) returned neither a project nor an error", doc)
		}
	})
}

// fuzzLoadAllowed reports whether every document of doc decodes, and none
// holds a key of fuzzLoadDeniedKeys at any depth.
func fuzzLoadAllowed(doc string) bool {
	dec := yaml.NewDecoder(strings.NewReader(doc))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil || fuzzHasDeniedKey(v) {
			return false
		}
	}
}

func fuzzHasDeniedKey(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if fuzzLoadDeniedKeys[strings.ToLower(k)] || fuzzHasDeniedKey(child) {
				return true
			}
		}
	case map[any]any:
		for k, child := range x {
			if s, ok := k.(string); ok && fuzzLoadDeniedKeys[strings.ToLower(s)] || fuzzHasDeniedKey(child) {
				return true
			}
			if _, ok := k.(string); !ok && fuzzHasDeniedKey(k) {
				return true
			}
		}
	case []any:
		for _, child := range x {
			if fuzzHasDeniedKey(child) {
				return true
			}
		}
	}
	return false
}
