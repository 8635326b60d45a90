package watch

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// testScan scans r once and returns the reported paths and the scanner.
// With settled set, the scanner trusts every timestamp, as it does for
// folders that changed longer than racyWindow ago.
func testScan(r *pollRoot, report, settled bool) ([]string, *scanner) {
	var seen []string
	push := func(p string) { seen = append(seen, p) }
	if !report {
		push = nil
	}
	sc := newScanner(func(string, bool) bool { return false }, push, hclog.NewNullLogger())
	if settled {
		sc.recent = math.MaxInt64
	}
	sc.scanRoot(r)
	return seen, sc
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScannerSettledFolderNotListed(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "a", "f")
	writeTestFile(t, file, "old")
	writeTestFile(t, filepath.Join(root, "b", "g"), "g")
	r := &pollRoot{path: root}
	testScan(r, false, true)

	writeTestFile(t, file, "new")
	seen, sc := testScan(r, true, true)

	if !slices.Equal(seen, []string{file}) {
		t.Errorf("reported %q, want only %s", seen, file)
	}
	if sc.reads != 0 {
		t.Errorf("%d folders were listed, want none: their entries did not change", sc.reads)
	}
	if sc.lstats != 5 {
		t.Errorf("%d paths were inspected, want 5: the root, 2 folders and 2 files", sc.lstats)
	}
}

func TestScannerNewEntryListsFolder(t *testing.T) {
	root := t.TempDir()
	writeTestFile(t, filepath.Join(root, "a", "f"), "f")
	r := &pollRoot{path: root}
	testScan(r, false, true)

	added := filepath.Join(root, "a", "new")
	writeTestFile(t, added, "x")
	seen, sc := testScan(r, true, true)

	if !slices.Equal(seen, []string{added}) {
		t.Errorf("reported %q, want only %s", seen, added)
	}
	if sc.reads != 1 {
		t.Errorf("%d folders were listed, want 1: the folder whose entries changed", sc.reads)
	}
}

func TestScannerRecentFolderListedAgain(t *testing.T) {
	root := t.TempDir()
	writeTestFile(t, filepath.Join(root, "a", "f"), "f")
	r := &pollRoot{path: root}
	testScan(r, false, false)

	// The folders changed within racyWindow, so another change in the same
	// clock tick would not show in their timestamps.
	seen, sc := testScan(r, true, false)
	if len(seen) != 0 {
		t.Errorf("a scan without changes reported %q", seen)
	}
	if sc.reads != 2 {
		t.Errorf("%d folders were listed, want 2: both changed within %v", sc.reads, racyWindow)
	}
}

func TestScannerLinkTargetCompared(t *testing.T) {
	root := t.TempDir()
	link := filepath.Join(root, "link")
	if err := os.Symlink("v2", link); err != nil {
		t.Fatal(err)
	}
	r := &pollRoot{path: root}
	testScan(r, false, true)

	// Same inode and times, as when a removed link's inode is reused
	// within one clock tick: only the target differs.
	r.top.dir.entries[0].target = "v1"
	seen, _ := testScan(r, true, true)

	if !slices.Equal(seen, []string{link}) {
		t.Errorf("reported %q, want %s", seen, link)
	}
}

func TestScannerTypeChange(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "x")
	writeTestFile(t, filepath.Join(path, "inner"), "x")
	r := &pollRoot{path: root}
	testScan(r, false, true)

	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, path, "now a file")
	seen, _ := testScan(r, true, true)

	// The path is reported as removed and as added, which the queue merges.
	slices.Sort(seen)
	seen = slices.Compact(seen)
	if want := []string{path, filepath.Join(path, "inner")}; !slices.Equal(seen, want) {
		t.Errorf("reported %q, want %q", seen, want)
	}
	if got := r.top.dir.entries[0]; got.dir != nil || got.state.isDir() {
		t.Errorf("the snapshot still holds %s as a folder", path)
	}
}

func TestNextPollInterval(t *testing.T) {
	for _, tc := range []struct {
		base, took, want time.Duration
	}{
		{time.Second, 0, time.Second},
		{time.Second, 100 * time.Millisecond, time.Second},
		{time.Second, 250 * time.Millisecond, time.Second},
		{time.Second, 300 * time.Millisecond, 1200 * time.Millisecond},
		{2 * time.Second, 3 * time.Second, 12 * time.Second},
	} {
		if got := nextPollInterval(tc.base, tc.took); got != tc.want {
			t.Errorf("nextPollInterval(%v, %v) = %v, want %v", tc.base, tc.took, got, tc.want)
		}
	}
}
