package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeContext stores a context's meta.json the way the docker CLI does.
func writeContext(t *testing.T, configDir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	dir := filepath.Join(configDir, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeConfig(t *testing.T, configDir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(configDir, "config.json"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func envFunc(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestResolveEndpoint(t *testing.T) {
	configDir := t.TempDir()
	writeContext(t, configDir, "desktop-linux", "unix:///home/me/.docker/desktop/docker.sock")
	writeContext(t, configDir, "colima", "unix:///home/me/.colima/default/docker.sock")
	writeConfig(t, configDir, `{"auths":{},"currentContext":"desktop-linux"}`)

	emptyConfig := t.TempDir()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeContext(t, filepath.Join(home, ".docker"), "colima", "unix:///home/me/.colima/default/docker.sock")
	writeConfig(t, filepath.Join(home, ".docker"), `{"currentContext":"colima"}`)

	tests := []struct {
		name string
		env  map[string]string
		want Endpoint
	}{
		{
			name: "DOCKER_HOST wins over contexts",
			env:  map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_CONTEXT": "colima", "DOCKER_CONFIG": configDir},
			want: Endpoint{Host: "tcp://127.0.0.1:2376", Source: "DOCKER_HOST"},
		},
		{
			name: "DOCKER_CONTEXT wins over currentContext",
			env:  map[string]string{"DOCKER_CONTEXT": "colima", "DOCKER_CONFIG": configDir},
			want: Endpoint{Host: "unix:///home/me/.colima/default/docker.sock", Source: `context "colima"`},
		},
		{
			name: "currentContext from config.json",
			env:  map[string]string{"DOCKER_CONFIG": configDir},
			want: Endpoint{Host: "unix:///home/me/.docker/desktop/docker.sock", Source: `context "desktop-linux"`},
		},
		{
			name: "context named default is the default socket",
			env:  map[string]string{"DOCKER_CONTEXT": "default", "DOCKER_CONFIG": configDir},
			want: Endpoint{Host: DefaultHost, Source: "default"},
		},
		{
			name: "no config.json",
			env:  map[string]string{"DOCKER_CONFIG": emptyConfig},
			want: Endpoint{Host: DefaultHost, Source: "default"},
		},
		{
			name: "config under HOME when DOCKER_CONFIG is unset",
			env:  map[string]string{"HOME": home},
			want: Endpoint{Host: "unix:///home/me/.colima/default/docker.sock", Source: `context "colima"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveEndpoint(envFunc(tt.env))
			if err != nil {
				t.Fatalf("ResolveEndpoint: %v", err)
			}
			if got != tt.want {
				t.Errorf("ResolveEndpoint = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestResolveEndpointErrors(t *testing.T) {
	configDir := t.TempDir()
	writeConfig(t, configDir, `{"currentContext":"gone"}`)
	brokenDir := t.TempDir()
	writeConfig(t, brokenDir, `{"currentContext":`)
	noDockerDir := t.TempDir()
	writeContext(t, noDockerDir, "k8s-only", "")

	tests := []struct {
		name     string
		env      map[string]string
		contains []string
	}{
		{
			name:     "unknown DOCKER_CONTEXT",
			env:      map[string]string{"DOCKER_CONTEXT": "nosuch", "DOCKER_CONFIG": configDir},
			contains: []string{`"nosuch"`, "docker context ls"},
		},
		{
			name:     "unknown currentContext",
			env:      map[string]string{"DOCKER_CONFIG": configDir},
			contains: []string{`"gone"`, "docker context ls"},
		},
		{
			name:     "broken config.json",
			env:      map[string]string{"DOCKER_CONFIG": brokenDir},
			contains: []string{"config.json"},
		},
		{
			name:     "context without docker endpoint",
			env:      map[string]string{"DOCKER_CONTEXT": "k8s-only", "DOCKER_CONFIG": noDockerDir},
			contains: []string{`"k8s-only"`, "no docker endpoint"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ResolveEndpoint(envFunc(tt.env))
			if err == nil {
				t.Fatal("ResolveEndpoint succeeded, want an error")
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}
