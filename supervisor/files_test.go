package supervisor

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/devdtool/devd/engine"
	filesync "github.com/devdtool/devd/sync"
)

// fileRequest sends one request to a handler with the file API, as a
// process of the given uid in the container.
func fileRequest(t *testing.T, api *fileAPI, method, target string, body []byte, uid uint32) *httptest.ResponseRecorder {
	t.Helper()
	return peerRequest(t, newHandler(&fakeController{}, api), method, target, body, peerInfo{uid: uid, pid: 42, ok: true})
}

// peerRequest sends one request to h as the given peer.
func peerRequest(t *testing.T, h http.Handler, method, target string, body []byte, peer peerInfo) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req = req.WithContext(withPeer(req.Context(), peer))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func oneFileTar(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(content)),
		Uid: os.Getuid(), Gid: os.Getgid()}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFileAPI(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "app")
	if err := os.MkdirAll(filepath.Join(root, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	api := &fileAPI{roots: []string{root}, allowed: func(peer peerInfo) bool { return peer.outside() || peer.uid == 0 }}
	name := strings.TrimPrefix(filepath.Join(root, "a.js"), "/")

	t.Run("extract", func(t *testing.T) {
		rec := peerRequest(t, newHandler(&fakeController{}, api), http.MethodPost, "/files/extract", oneFileTar(t, name, "hello"),
			peerInfo{uid: 1000, pid: 0, ok: true})
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if data, err := os.ReadFile(filepath.Join(root, "a.js")); err != nil || string(data) != "hello" {
			t.Errorf("a.js = %q, %v", data, err)
		}
	})

	t.Run("other user rejected", func(t *testing.T) {
		// The same uid as devd's user on the host, but inside the container.
		rec := fileRequest(t, api, http.MethodPost, "/files/extract", oneFileTar(t, strings.TrimPrefix(filepath.Join(root, "b.js"), "/"), "x"), 1000)
		if rec.Code != http.StatusForbidden {
			t.Errorf("status %d for a container process of uid 1000, want 403", rec.Code)
		}
		if _, err := os.Stat(filepath.Join(root, "b.js")); err == nil {
			t.Error("a rejected peer wrote a file")
		}
	})

	t.Run("outside the roots", func(t *testing.T) {
		rec := fileRequest(t, api, http.MethodPost, "/files/extract", oneFileTar(t, strings.TrimPrefix(filepath.Join(base, "x.js"), "/"), "x"), 0)
		if rec.Code != http.StatusForbidden {
			t.Errorf("extract outside the roots: status %d, want 403", rec.Code)
		}
		rec = fileRequest(t, api, http.MethodGet, "/files/stat?path="+url.QueryEscape("/etc/passwd"), nil, 0)
		if rec.Code != http.StatusForbidden {
			t.Errorf("stat outside the roots: status %d, want 403", rec.Code)
		}
		body, _ := json.Marshal(removeRequest{Root: base, Paths: []string{root}})
		rec = fileRequest(t, api, http.MethodPost, "/files/remove", body, 0)
		if rec.Code != http.StatusForbidden {
			t.Errorf("remove with another root: status %d, want 403", rec.Code)
		}
		if _, err := os.Stat(root); err != nil {
			t.Errorf("the root was removed: %v", err)
		}
	})

	t.Run("stat", func(t *testing.T) {
		rec := fileRequest(t, api, http.MethodGet, "/files/stat?path="+url.QueryEscape(filepath.Join(root, "a.js")), nil, 0)
		var st PathStat
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &st) != nil || st.Size != 5 {
			t.Errorf("stat: status %d, %s", rec.Code, rec.Body)
		}
		rec = fileRequest(t, api, http.MethodGet, "/files/stat?path="+url.QueryEscape(filepath.Join(root, "missing")), nil, 0)
		if rec.Code != http.StatusNotFound {
			t.Errorf("stat of a missing path: status %d, want 404", rec.Code)
		}
	})

	t.Run("archive", func(t *testing.T) {
		rec := fileRequest(t, api, http.MethodGet, "/files/archive?path="+url.QueryEscape(root), nil, 0)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "hello") {
			t.Errorf("archive: status %d", rec.Code)
		}
	})

	t.Run("remove", func(t *testing.T) {
		body, _ := json.Marshal(removeRequest{Root: root, Paths: []string{filepath.Join(root, "old"), filepath.Join(root, "a.js")}})
		rec := fileRequest(t, api, http.MethodPost, "/files/remove", body, 0)
		if rec.Code != http.StatusOK {
			t.Fatalf("remove: status %d: %s", rec.Code, rec.Body)
		}
		if entries, _ := os.ReadDir(root); len(entries) != 0 {
			t.Errorf("left after remove: %v", entries)
		}
	})

	t.Run("off", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/files/stat?path="+url.QueryEscape(root), nil)
		rec := httptest.NewRecorder()
		newHandler(&fakeController{}, nil).ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("file API without sync roots: status %d, want 404", rec.Code)
		}
	})
}

// serveOnSocket serves h on a Unix socket in a temporary folder and returns
// a client for it.
func serveOnSocket(t *testing.T, h http.Handler) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnContext: func(ctx context.Context, c net.Conn) context.Context {
		peer, _ := peerCred(c)
		return withPeer(ctx, peer)
	}}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return NewSocketClient(sock)
}

func TestFilesClientErrors(t *testing.T) {
	full := fmt.Errorf("extracting /app/big: %w", &fs.PathError{Op: "write", Path: "/app/big", Err: syscall.ENOSPC})
	if got := fileStatus(full); got != http.StatusInsufficientStorage {
		t.Errorf("status for a full file system = %d, want 507", got)
	}

	client := serveOnSocket(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/files/extract":
			writeError(w, full)
		case "/files/stat":
			writeError(w, fmt.Errorf("statting /app/x: %w", engine.ErrNotFound))
		default:
			writeError(w, fmt.Errorf("%w: nothing here", errForbidden))
		}
	}))
	ctx := context.Background()
	if _, err := client.Extract(ctx, bytes.NewReader(nil)); !errors.Is(err, engine.ErrNoSpace) {
		t.Errorf("extract into a full file system: %v, want engine.ErrNoSpace", err)
	}
	if _, err := client.StatPath(ctx, "/app/x"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("stat of a missing path: %v, want engine.ErrNotFound", err)
	}
	if err := client.Remove(ctx, "/app", []string{"/app/x"}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("rejected remove: %v, want the 403 in the error", err)
	}
}

func TestFilesClientRoundTrip(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	api := &fileAPI{roots: []string{root}, allowed: func(peer peerInfo) bool { return peer.uid == uint32(os.Getuid()) }}
	client := serveOnSocket(t, newHandler(&fakeController{}, api))
	f := &Files{Client: client, Roots: []string{root}}
	ctx := context.Background()

	name := strings.TrimPrefix(filepath.Join(root, "src", "a.js"), "/")
	if err := f.CopyToContainer(ctx, "c1", "/", bytes.NewReader(oneFileTar(t, name, "round trip"))); err != nil {
		t.Fatal(err)
	}
	st, err := f.StatPath(ctx, "c1", filepath.Join(root, "src", "a.js"))
	if err != nil || st.Size != int64(len("round trip")) {
		t.Errorf("stat = %+v, %v", st, err)
	}
	rc, err := f.CopyFromContainer(ctx, "c1", root)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(data), "round trip") {
		t.Error("the archive of the root does not contain the file")
	}
	if err := f.RemovePaths(ctx, "c1", root, []string{filepath.Join(root, "src")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "src")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("src still there after remove: %v", err)
	}

	_ = os.Remove(filepath.Join(filepath.Dir(client.socket), "s.sock"))
	if err := f.RemovePaths(ctx, "c1", root, []string{filepath.Join(root, "x")}); !errors.Is(err, filesync.ErrNeedsRunning) {
		t.Errorf("remove with no supervisor listening: %v, want ErrNeedsRunning", err)
	}
	if _, err := f.StatPath(ctx, "c1", filepath.Join(root, "x")); !errors.Is(err, filesync.ErrNeedsRunning) {
		t.Errorf("stat with no supervisor listening: %v, want ErrNeedsRunning", err)
	}
	if _, err := f.CopyFromContainer(ctx, "c1", root); !errors.Is(err, filesync.ErrNeedsRunning) {
		t.Errorf("archive with no supervisor listening: %v, want ErrNeedsRunning", err)
	}
}

func TestGuardPeers(t *testing.T) {
	h := guardPeers(newHandler(&fakeController{}, nil), 1000)
	for _, tc := range []struct {
		name string
		peer peerInfo
		want int
	}{
		{"devd on the host", peerInfo{uid: 1001, pid: 0, ok: true}, http.StatusOK},
		{"root in the container", peerInfo{uid: 0, pid: 7, ok: true}, http.StatusOK},
		{"the supervisor's uid", peerInfo{uid: 1000, pid: 7, ok: true}, http.StatusOK},
		{"another uid in the container", peerInfo{uid: 1234, pid: 7, ok: true}, http.StatusForbidden},
		{"unknown credentials", peerInfo{}, http.StatusForbidden},
	} {
		if rec := peerRequest(t, h, http.MethodGet, "/status", nil, tc.peer); rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
}
