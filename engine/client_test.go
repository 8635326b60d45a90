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

func TestIsNoSpace(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		// The error of a copy into a full tmpfs volume (Docker 20.10).
		{"Error response from daemon: Error processing tar file(exit status 1): write /data/big: no space left on device", true},
		{"Error response from daemon: Error processing tar file(exit status 1): mkdir /data/sub: no space left on device", true},
		{"Error response from daemon: Error processing tar file(exit status 1): write /srv/a: disk quota exceeded", true},
		{"Error response from daemon: Error processing tar file(exit status 1): No Space Left On Device", true},
		{"Error response from daemon: container rootfs is marked read-only", false},
		{"Error response from daemon: Could not find the file /x in container c1", false},
		{"write /data/big: file too large", false},
	} {
		if got := isNoSpace(errors.New(tc.msg)); got != tc.want {
			t.Errorf("isNoSpace(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
	if isNoSpace(nil) {
		t.Error("isNoSpace(nil) = true")
	}
}
