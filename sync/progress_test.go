package sync

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// fakeContainer is a Reconciler whose container holds the archive it was
// given and accepts every copy and command.
type fakeContainer struct {
	fakeCopier
	archive []byte // what CopyFromContainer returns for the tree's root
}

func (f *fakeContainer) CopyFromContainer(context.Context, string, string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(f.archive)), nil
}

// containerArchive is the archive of /app holding the named files.
func containerArchive(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "app/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReconcileProgressReachesTheTotal(t *testing.T) {
	root := t.TempDir()
	var wantBytes int64
	for i := range 40 {
		content := fmt.Sprintf("file %d\n", i)
		makeFile(t, filepath.Join(root, "src", fmt.Sprintf("f%02d.js", i)), content, 0o644)
		wantBytes += int64(len(content))
	}
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	fake := &fakeContainer{archive: containerArchive(t, "stale.js", "old.js")}

	var reports []Progress
	res, err := ReconcileProgress(context.Background(), fake, "c1", tree, Owner{}, nil, func(p Progress) {
		reports = append(reports, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	// 40 files and their folder are copied, 2 files deleted.
	if res.Copied != 41 || res.Deleted != 2 || res.Bytes != wantBytes {
		t.Fatalf("result %+v, want 41 copied, 2 deleted, %d bytes", res, wantBytes)
	}
	if len(reports) < 4 {
		t.Fatalf("got %d reports, want at least comparing, copying, deleting and done: %+v", len(reports), reports)
	}
	if reports[0].Phase != PhaseComparing {
		t.Errorf("first report %+v, want phase comparing", reports[0])
	}

	order := map[Phase]int{PhaseComparing: 0, PhaseCopying: 1, PhaseDeleting: 2, PhaseDone: 3}
	for i := 1; i < len(reports); i++ {
		prev, cur := reports[i-1], reports[i]
		if order[cur.Phase] < order[prev.Phase] || cur.Files < prev.Files || cur.Bytes < prev.Bytes {
			t.Errorf("report %d went back: %+v after %+v", i, cur, prev)
		}
		if cur.Phase != PhaseComparing && (cur.TotalFiles != 43 || cur.TotalBytes != wantBytes) {
			t.Errorf("report %d has totals %d files, %d bytes, want 43 and %d", i, cur.TotalFiles, cur.TotalBytes, wantBytes)
		}
		if cur.Files > cur.TotalFiles || cur.Bytes > cur.TotalBytes {
			t.Errorf("report %d is beyond the total: %+v", i, cur)
		}
	}
	last := reports[len(reports)-1]
	want := Progress{Phase: PhaseDone, Files: 43, TotalFiles: 43, Bytes: wantBytes, TotalBytes: wantBytes}
	if last != want {
		t.Errorf("last report %+v, want %+v", last, want)
	}
	for _, p := range reports[:len(reports)-1] {
		if p.Phase == PhaseDone {
			t.Errorf("done reported before the end: %+v", reports)
		}
	}
}

func TestReconcileProgressWhenNothingDiffers(t *testing.T) {
	root := t.TempDir()
	tree := &Tree{HostRoot: root, ContainerRoot: "/app"}
	fake := &fakeContainer{archive: containerArchive(t)}

	var reports []Progress
	if _, err := ReconcileProgress(context.Background(), fake, "c1", tree, Owner{}, nil, func(p Progress) {
		reports = append(reports, p)
	}); err != nil {
		t.Fatal(err)
	}
	want := []Progress{{Phase: PhaseComparing}, {Phase: PhaseDone}}
	if fmt.Sprint(reports) != fmt.Sprint(want) {
		t.Errorf("reports %+v, want %+v", reports, want)
	}
}

func TestReconcileProgressEndsOnFailure(t *testing.T) {
	tree := &Tree{HostRoot: t.TempDir(), ContainerRoot: "/"}
	var last Progress
	if _, err := ReconcileProgress(context.Background(), &fakeContainer{}, "c1", tree, Owner{}, nil, func(p Progress) { last = p }); err == nil {
		t.Fatal("reconciling into the container's root folder succeeded")
	}
	if last.Phase != PhaseDone {
		t.Errorf("last report %+v, want phase done", last)
	}
}
