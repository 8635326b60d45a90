package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultHost is the address of a native local engine, used when neither
// DOCKER_HOST nor a Docker context names another one.
const DefaultHost = "unix:///var/run/docker.sock"

// defaultContext is the name the docker CLI gives to the built-in context that
// stands for DOCKER_HOST or the default socket.
const defaultContext = "default"

// Endpoint is the address of a Docker engine and where it was found.
type Endpoint struct {
	// Host is the engine address, for example unix:///var/run/docker.sock
	// or tcp://127.0.0.1:2376.
	Host string

	// Source names where Host came from: "DOCKER_HOST", `context "name"` or
	// "default". It is meant for messages.
	Source string
}

// ResolveEndpoint finds the engine the docker CLI would talk to, reading the
// environment through getenv. The first of these wins:
//
//   - DOCKER_HOST;
//   - the context named by DOCKER_CONTEXT;
//   - the currentContext of $DOCKER_CONFIG/config.json (~/.docker by default);
//   - the default socket, also used for the context named "default".
//
// An unknown context is an error that names it.
//
// client.FromEnv ignores contexts, so Docker Desktop on Linux, colima and
// rootless Docker would not be found without this.
//
// NOTE: TLS material stored with a context (contexts/tls/...) is not read.
// A context that points at a TLS-protected tcp endpoint needs DOCKER_HOST
// with DOCKER_CERT_PATH and DOCKER_TLS_VERIFY instead.
func ResolveEndpoint(getenv func(string) string) (Endpoint, error) {
	if host := getenv("DOCKER_HOST"); host != "" {
		return Endpoint{Host: host, Source: "DOCKER_HOST"}, nil
	}

	configDir, err := dockerConfigDir(getenv)
	if err != nil {
		return Endpoint{}, err
	}

	name := getenv("DOCKER_CONTEXT")
	if name == "" {
		name, err = currentContext(configDir)
		if err != nil {
			return Endpoint{}, err
		}
	}
	if name == "" || name == defaultContext {
		return Endpoint{Host: DefaultHost, Source: defaultContext}, nil
	}

	host, err := contextHost(configDir, name)
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{Host: host, Source: fmt.Sprintf("context %q", name)}, nil
}

// dockerConfigDir returns $DOCKER_CONFIG, or ~/.docker.
func dockerConfigDir(getenv func(string) string) (string, error) {
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return dir, nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		home, err = os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the docker configuration folder: %w", err)
		}
	}
	return filepath.Join(home, ".docker"), nil
}

// currentContext reads currentContext from config.json. A missing file means
// that no context was chosen.
func currentContext(configDir string) (string, error) {
	file := filepath.Join(configDir, "config.json")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading docker configuration: %w", err)
	}

	var config struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(data, &config); err != nil {
		return "", fmt.Errorf("parsing docker configuration %s: %w", file, err)
	}
	return config.CurrentContext, nil
}

// contextHost reads the docker endpoint of a named context. The CLI stores
// each context under the SHA-256 of its name.
func contextHost(configDir, name string) (string, error) {
	sum := sha256.Sum256([]byte(name))
	file := filepath.Join(configDir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("docker context %q does not exist (no %s); run `docker context ls` to see the contexts", name, file)
	}
	if err != nil {
		return "", fmt.Errorf("reading docker context %q: %w", name, err)
	}

	var meta struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return "", fmt.Errorf("parsing docker context %q in %s: %w", name, file, err)
	}
	host := meta.Endpoints["docker"].Host
	if host == "" {
		return "", fmt.Errorf("docker context %q has no docker endpoint in %s; run `docker context ls` to see the contexts", name, file)
	}
	return host, nil
}
