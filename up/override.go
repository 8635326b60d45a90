package up

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
)

// overrideHeader starts every override file.
const overrideHeader = `# Written by devd up; do not edit: it is written again at every start.
# It runs devd's supervisor in front of the command of each watched service,
# so devd can restart the process without restarting the container.
`

// overrideFile is the Compose override `devd up` writes. Field order is the
// order in the file; the encoder sorts map keys, so the output depends only
// on the input.
type overrideFile struct {
	Services map[string]serviceOverride `yaml:"services"`
}

// serviceOverride contains the keys the override sets in one service.
type serviceOverride struct {
	Entrypoint []string          `yaml:"entrypoint"`
	Command    []string          `yaml:"command,omitempty"`
	Volumes    []bindMount       `yaml:"volumes"`
	Labels     map[string]string `yaml:"labels"`
}

// bindMount is a long-syntax bind mount. The long syntax keeps paths with
// colons intact, and Compose does not create a missing source for it,
// which would hide a mistake.
type bindMount struct {
	Type     string `yaml:"type"`
	Source   string `yaml:"source"`
	Target   string `yaml:"target"`
	ReadOnly bool   `yaml:"read_only,omitempty"`
}

// Override returns a Compose override file that runs each supervised
// service (see Supervised) under devd's supervisor. In each such service,
// the entrypoint becomes the supervisor followed by the service's resolved
// entrypoint, and the command is the resolved command (see Plan). The host
// binary bin is mounted read-only at /.devd/devd-supervisor, the service's folder in
// runDirs at /.devd/run, and the label dev.devd.supervisor is set. Nothing
// else changes. The output is the same for the same input.
//
// Dollar signs are doubled, because Compose interpolates the override
// like any other file.
func Override(p *types.Project, services []compose.Service, images map[string]engine.ImageConfig, bin string, runDirs map[string]string) ([]byte, error) {
	wraps, err := Plan(p, services, images)
	if err != nil {
		return nil, err
	}
	if bin == "" && len(wraps) > 0 {
		return nil, fmt.Errorf("writing the supervisor override: no supervisor binary")
	}

	file := overrideFile{Services: map[string]serviceOverride{}}
	for _, w := range wraps {
		runDir, ok := runDirs[w.Service]
		if !ok || runDir == "" {
			return nil, fmt.Errorf("writing the supervisor override: no control folder for service %q", w.Service)
		}
		file.Services[w.Service] = serviceOverride{
			Entrypoint: escapeAll(w.Entrypoint),
			Command:    escapeAll(w.Command),
			Volumes: []bindMount{
				{Type: types.VolumeTypeBind, Source: escape(bin), Target: containerBinary, ReadOnly: true},
				{Type: types.VolumeTypeBind, Source: escape(runDir), Target: containerControlDir},
			},
			Labels: map[string]string{SupervisorLabel: SupervisorLabelValue},
		}
	}

	var buf bytes.Buffer
	buf.WriteString(overrideHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(file); err != nil {
		return nil, fmt.Errorf("encoding the supervisor override: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the supervisor override: %w", err)
	}
	return buf.Bytes(), nil
}

// escape doubles dollar signs, so that Compose's interpolation gives the
// string back as it is.
func escape(s string) string {
	return strings.ReplaceAll(s, "$", "$$")
}

func escapeAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = escape(s)
	}
	return out
}
