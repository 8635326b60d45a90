package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestConnectUnreachable(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	_, err := Connect(context.Background(), Endpoint{Host: host, Source: `context "colima"`})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Connect = %v, want ErrUnreachable", err)
	}
	for _, s := range []string{host, `(from context "colima")`, "start Docker", "DOCKER_HOST", "docker context use"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestConnectRejectsBadHosts(t *testing.T) {
	for _, host := range []string{"not a host", "ssh://me@build-box"} {
		_, err := Connect(context.Background(), Endpoint{Host: host, Source: "DOCKER_HOST"})
		if err == nil || errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "DOCKER_HOST") {
			t.Errorf("Connect(%q) = %v, want an error about the host naming its source", host, err)
		}
	}
}
