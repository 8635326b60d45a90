package up

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRunDir(t *testing.T) {
	xdg := t.TempDir()
	env := map[string]string{"XDG_RUNTIME_DIR": xdg}
	getenv := func(k string) string { return env[k] }

	dir, err := runDir(getenv, os.Getuid(), t.TempDir(), "proj", "api")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(xdg, "devd", "run", "proj", "api"); dir != want {
		t.Fatalf("dir = %s, want %s", dir, want)
	}
	assertMode(t, dir, serviceDirMode)
	for _, parent := range []string{filepath.Join(xdg, "devd"), filepath.Join(xdg, "devd", "run"), filepath.Join(xdg, "devd", "run", "proj")} {
		assertMode(t, parent, privateDirMode)
	}

	// A second call finds the folder as it left it.
	if again, err := runDir(getenv, os.Getuid(), t.TempDir(), "proj", "api"); err != nil || again != dir {
		t.Fatalf("second call = %s, %v", again, err)
	}
	assertMode(t, dir, serviceDirMode)
}

func TestRunDirUnderTmp(t *testing.T) {
	getenv := func(string) string { return "" }
	uid := os.Getuid()

	t.Run("created private", func(t *testing.T) {
		tmp := t.TempDir()
		dir, err := runDir(getenv, uid, tmp, "proj", "api")
		if err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(tmp, "devd-"+itoa(uid))
		if dir != filepath.Join(root, "run", "proj", "api") {
			t.Fatalf("dir = %s", dir)
		}
		assertMode(t, root, privateDirMode)
		assertMode(t, dir, serviceDirMode)
	})

	t.Run("open folder refused", func(t *testing.T) {
		tmp := t.TempDir()
		root := filepath.Join(tmp, "devd-"+itoa(uid))
		must(t, os.Mkdir(root, 0o755))
		must(t, os.Chmod(root, 0o755))
		_, err := runDir(getenv, uid, tmp, "proj", "api")
		if err == nil || !strings.Contains(err.Error(), "is open to other users") {
			t.Fatalf("error = %v", err)
		}
	})

	t.Run("symbolic link refused", func(t *testing.T) {
		tmp := t.TempDir()
		target := t.TempDir()
		must(t, os.Symlink(target, filepath.Join(tmp, "devd-"+itoa(uid))))
		_, err := runDir(getenv, uid, tmp, "proj", "api")
		if err == nil || !strings.Contains(err.Error(), "is not a folder") {
			t.Fatalf("error = %v", err)
		}
	})

	t.Run("folder of another user refused", func(t *testing.T) {
		tmp := t.TempDir()
		must(t, os.Mkdir(filepath.Join(tmp, "devd-"+itoa(uid+1)), 0o700))
		// The folder belongs to this process's uid, which is not uid+1.
		_, err := runDir(getenv, uid+1, tmp, "proj", "api")
		if err == nil || !strings.Contains(err.Error(), "belongs to another user") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestRunDirRejectsPathNames(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}[k] }
	for _, names := range [][2]string{{"..", "api"}, {"proj", "a/b"}, {"", "api"}, {"proj", "."}} {
		if _, err := runDir(getenv, os.Getuid(), t.TempDir(), names[0], names[1]); err == nil {
			t.Errorf("runDir(%q, %q) succeeded", names[0], names[1])
		}
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModePerm | fs.ModeSticky); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPruneSockets(t *testing.T) {
	dir := t.TempDir()
	listen := func(name string) {
		t.Helper()
		l, err := net.Listen("unix", filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// Closing a listener removes its file; the file must stay, as a
		// killed supervisor leaves it.
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
	}
	listen("0123456789ab.sock")
	listen("ba9876543210.sock")
	listen("notanid.sock")
	if err := os.WriteFile(filepath.Join(dir, "ffffffffffff.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	n, err := PruneSockets(dir, []string{"0123456789abcdef0123"})
	if err != nil || n != 1 {
		t.Fatalf("PruneSockets = %d, %v; want 1 removed", n, err)
	}
	for name, want := range map[string]bool{
		"0123456789ab.sock": true,  // a live container's
		"ba9876543210.sock": false, // a removed container's
		"notanid.sock":      true,  // not a supervisor's name
		"ffffffffffff.sock": true,  // not a socket
	} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if got := err == nil; got != want {
			t.Errorf("%s kept = %v, want %v", name, got, want)
		}
	}
}
