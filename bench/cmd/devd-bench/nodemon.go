package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// nodemonPackage is the npm package specification the benchmark installs:
// the latest nodemon 3 release.
const nodemonPackage = "nodemon@3"

// nodemonMount is the container path of the nodemon installation, mounted
// read-only in the api container.
const nodemonMount = "/opt/devd-bench/nodemon"

// nodemonOverrideFile is the Compose file, in the stack's folder, that runs
// api under nodemon. Its name is not one that Compose or devd read by
// default, so only the stack's setupNodemon uses it.
const nodemonOverrideFile = "compose.bench-nodemon.yaml"

// nodemonOverrideTemplate runs api's command under nodemon, from the
// installation mounted at nodemonMount. nodemon passes --inspect on to
// node, so the command is the example's `node --inspect=0.0.0.0:9229
// server.js` with nodemon in front. With --verbose, nodemon prints how many
// files it watches once its watcher is ready, and the benchmark starts
// saving after that line. Argument: the installation's host folder, quoted.
const nodemonOverrideTemplate = `services:
  api:
    command:
      - node
      - ` + nodemonMount + `/node_modules/nodemon/bin/nodemon.js
      - --verbose
      - --inspect=0.0.0.0:9229
      - server.js
    volumes:
      - type: bind
        source: %s
        target: ` + nodemonMount + `
        read_only: true
`

// nodemonOverride returns the override that runs api under the nodemon
// installed in dir.
func nodemonOverride(dir string) string {
	return fmt.Sprintf(nodemonOverrideTemplate, strconv.Quote(dir))
}

// nodemonCacheDir returns the folder nodemon is installed into for the
// benchmark: devd-bench/nodemon in the user's cache folder
// (~/.cache/devd-bench/nodemon on Linux).
func nodemonCacheDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache folder for nodemon: %w", err)
	}
	return filepath.Join(cache, "devd-bench", "nodemon"), nil
}

// ensureNodemon installs nodemonPackage into dir with npm unless it is
// there already, and returns its version. The installation is used only by
// the benchmark.
func ensureNodemon(ctx context.Context, dir string) (string, error) {
	manifest := filepath.Join(dir, "node_modules", "nodemon", "package.json")
	if _, err := os.Stat(manifest); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("installing nodemon: %w", err)
		}
		fmt.Fprintf(os.Stderr, "installing %s into %s\n", nodemonPackage, dir)
		cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", nodemonPackage)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("installing nodemon with npm: %w\n%s(leave nodemon out with -tools)", err, out)
		}
	}

	data, err := os.ReadFile(manifest)
	if err != nil {
		return "", fmt.Errorf("reading nodemon's version: %w", err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil || pkg.Version == "" {
		return "", fmt.Errorf("reading nodemon's version from %s: %v", manifest, err)
	}
	return pkg.Version, nil
}
