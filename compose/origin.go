package compose

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v4"
)

// loadError turns an error of compose-go's loader into a ConfigError that
// names the Compose file at fault when the message mentions one.
func loadError(err error, configPaths []string, projectDir string) error {
	msg := err.Error()
	if projectDir == "" && len(configPaths) > 0 {
		projectDir = filepath.Dir(configPaths[0])
	}
	ce := &ConfigError{Message: msg, Err: err}
	for _, f := range configPaths {
		if !strings.Contains(msg, f) {
			continue
		}
		ce.File = displayPath(projectDir, f)
		// The file is named in front already.
		for _, prefix := range []string{
			"failed to parse " + f + ": ",
			"validating " + f + ": ",
			fmt.Sprintf("compose file %q is invalid: ", f),
		} {
			msg = strings.Replace(msg, prefix, "", 1)
		}
		break
	}
	// The schema reports a key it does not allow as "<path> false schema".
	if path, ok := strings.CutSuffix(msg, " false schema"); ok && !strings.Contains(path, " ") {
		msg = path + ": unknown key; check its spelling and indentation"
	}
	ce.Message = msg
	if ce.File == "" && len(configPaths) == 1 {
		ce.File = displayPath(projectDir, configPaths[0])
	}
	return ce
}

// locateKey returns the last of the Compose files that sets key (its first
// segment, such as "x-devd" or "develop") in the service, or "" when none
// does, for example when the service comes from an included file. Later
// files override earlier ones, so the last one is the one that counts.
func locateKey(files []string, service, key string) string {
	top := key
	if i := strings.IndexAny(top, ".["); i >= 0 {
		top = top[:i]
	}
	found := ""
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var doc struct {
			Services map[string]map[string]any `yaml:"services"`
		}
		if yaml.Unmarshal(data, &doc) != nil {
			continue
		}
		if svc, ok := doc.Services[service]; ok {
			if _, ok := svc[top]; ok {
				found = f
			}
		}
	}
	return found
}
