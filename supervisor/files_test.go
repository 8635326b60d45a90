package supervisor

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileRequest sends one request to a handler with the file API, as a peer
// of the given uid.
func fileRequest(t *testing.T, api *fileAPI, method, target string, body []byte, uid uint32) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req = req.WithContext(withPeer(req.Context(), uid, true))
	rec := httptest.NewRecorder()
	newHandler(&fakeController{}, api).ServeHTTP(rec, req)
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
	api := &fileAPI{roots: []string{root}, allowed: func(uid uint32) bool { return uid == 0 || uid == 1000 }}
	name := strings.TrimPrefix(filepath.Join(root, "a.js"), "/")

	t.Run("extract", func(t *testing.T) {
		rec := fileRequest(t, api, http.MethodPost, "/files/extract", oneFileTar(t, name, "hello"), 1000)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if data, err := os.ReadFile(filepath.Join(root, "a.js")); err != nil || string(data) != "hello" {
			t.Errorf("a.js = %q, %v", data, err)
		}
	})

	t.Run("other user rejected", func(t *testing.T) {
		rec := fileRequest(t, api, http.MethodPost, "/files/extract", oneFileTar(t, strings.TrimPrefix(filepath.Join(root, "b.js"), "/"), "x"), 1001)
		if rec.Code != http.StatusForbidden {
			t.Errorf("status %d for another uid, want 403", rec.Code)
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
