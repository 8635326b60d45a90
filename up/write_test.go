package up

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	project := t.TempDir()
	path, err := Write(project, []byte("services: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(project, ".devd", "compose.devd.yaml"); path != want {
		t.Fatalf("path = %s, want %s", path, want)
	}
	if got := string(mustRead(t, path)); got != "services: {}\n" {
		t.Errorf("override = %q", got)
	}
	if got := string(mustRead(t, filepath.Join(project, ".devd", ".gitignore"))); got != gitignoreContent {
		t.Errorf(".gitignore = %q", got)
	}

	// Writing again replaces the content and leaves no temporary file.
	if _, err := Write(project, []byte("services:\n  api: {}\n")); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, path)); got != "services:\n  api: {}\n" {
		t.Errorf("override after rewrite = %q", got)
	}
	entries, err := os.ReadDir(filepath.Join(project, ".devd"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf(".devd holds %q, want only .gitignore and the override", names)
	}
}
