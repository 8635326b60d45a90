// Package delvetest builds what Delve tests need: a static dlv, the test
// program in delve/testdata/app, and a minimal Debug Adapter Protocol client.
package delvetest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// DlvVersion is the Delve release the tests run.
const DlvVersion = "v1.27.2"

// BreakpointMarker ends the line of the test program where tests set a
// breakpoint; it runs on every request.
const BreakpointMarker = "// breakpoint line"

var dlvOnce struct {
	sync.Once
	path string
	err  error
}

// Dlv returns the path of a static dlv of DlvVersion, built once with the
// Go toolchain into ~/.cache/devd-test/dlv-<version> and reused after.
func Dlv() (string, error) {
	dlvOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			dlvOnce.err = fmt.Errorf("finding the cache folder: %w", err)
			return
		}
		dir := filepath.Join(cache, "devd-test", "dlv-"+DlvVersion)
		path := filepath.Join(dir, "dlv")
		if _, err := os.Stat(path); err == nil {
			dlvOnce.path = path
			return
		}
		cmd := exec.Command("go", "install", "github.com/go-delve/delve/cmd/dlv@"+DlvVersion)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			dlvOnce.err = fmt.Errorf("building dlv %s: %w\n%s", DlvVersion, err, out)
			return
		}
		dlvOnce.path = path
	})

	return dlvOnce.path, dlvOnce.err
}

// Testdata returns the absolute path of a file or folder in
// delve/testdata: "app" (the test program), "image" (its Dockerfile),
// "seccomp-no-ptrace.json" (a seccomp profile that denies ptrace).
func Testdata(name string) string {
	_, file, _, _ := runtime.Caller(0)

	return filepath.Join(filepath.Dir(filepath.Dir(file)), "testdata", name)
}

// AppDir returns the folder of the test program's source.
func AppDir() string { return Testdata("app") }

// BuildApp builds the test program for Delve (no optimisation, no
// inlining, no cgo) into out, responding with message. The binary is written next
// to out and renamed over it, so a running copy at out keeps its file, as
// with `docker cp`.
func BuildApp(out, message string) error {
	tmp := out + ".new"
	cmd := exec.Command("go", "build", "-gcflags=all=-N -l", "-ldflags=-X main.message="+message, "-o", tmp, ".")
	cmd.Dir = AppDir()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building test program: %w\n%s", err, b)
	}

	return os.Rename(tmp, out)
}

// BreakpointLine returns the test program's file and the line that holds
// BreakpointMarker.
func BreakpointLine() (string, int, error) {
	file := filepath.Join(AppDir(), "main.go")
	f, err := os.Open(file)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasSuffix(sc.Text(), BreakpointMarker) {
			return file, n, nil
		}
	}

	return "", 0, fmt.Errorf("no %q in %s", BreakpointMarker, file)
}
