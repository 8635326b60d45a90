package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSampleCommentsSkipNoAction checks that no comment in configs/ calls a
// develop.watch action skipped that devd carries out.
func TestSampleCommentsSkipNoAction(t *testing.T) {
	supported := []Action{ActionSyncExec, ActionSyncRestart, ActionRebuild, ActionRestart, ActionSync}
	files, err := filepath.Glob(filepath.Join("..", "configs", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found in configs/: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range commentBlocks(string(data)) {
			lower := strings.ToLower(block)
			if !strings.Contains(lower, "skipped") && !strings.Contains(lower, "not supported") &&
				!strings.Contains(lower, "unsupported") {
				continue
			}
			for _, action := range supported {
				if strings.Contains(block, string(action)) {
					t.Errorf("%s: a comment calls %s skipped or unsupported, but devd carries it out:\n%s", file, action, block)
					break
				}
			}
		}
	}
}

// commentBlocks returns the runs of consecutive comment lines of a YAML
// file, each joined into one string without the leading "#".
func commentBlocks(text string) []string {
	var blocks []string
	var current []string
	flush := func() {
		if len(current) > 0 {
			blocks = append(blocks, strings.Join(current, " "))
			current = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "#") {
			flush()
			continue
		}
		current = append(current, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
	}
	flush()
	return blocks
}
