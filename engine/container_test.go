package engine

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

func TestFromInspect(t *testing.T) {
	// Trimmed from a real 20.10 inspect response.
	const raw = `{
		"Id": "4f0c1a",
		"Name": "/shop-api-2",
		"State": {"Status": "running", "Running": true, "Paused": false, "StartedAt": "2024-05-01T10:00:00.5Z"},
		"HostConfig": {"ReadonlyRootfs": true, "Tmpfs": {"/run": "rw,noexec", "/app/cache": "ro,size=64k"}},
		"Mounts": [
			{"Type": "volume", "Destination": "/app/node_modules", "RW": true},
			{"Type": "bind", "Destination": "/etc/app", "RW": false},
			{"Type": "tmpfs", "Destination": "/app/tmp", "RW": true}
		],
		"Config": {
			"User": "node", "StopSignal": "SIGINT", "StopTimeout": 3,
			"Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "api",
				"com.docker.compose.container-number": "2"}
		},
		"NetworkSettings": {
			"Ports": {
				"9229/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9229"}],
				"3000/tcp": [{"HostIp": "::", "HostPort": "3000"}, {"HostIp": "0.0.0.0", "HostPort": "3000"}],
				"5000/udp": null
			},
			"Networks": {
				"shop_default": {"IPAddress": "172.18.0.3"},
				"host": {"IPAddress": ""},
				"backend": {"IPAddress": "172.19.0.2"}
			}
		}
	}`
	var info container.InspectResponse
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		t.Fatal(err)
	}

	got := fromInspect(info)
	timeout := 3
	want := Container{
		ID: "4f0c1a", Name: "shop-api-2", Project: "shop", Service: "api", Number: 2,
		State: "running", Running: true,
		StartedAt: time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC),
		User:      "node",
		IPs:       []string{"172.19.0.2", "172.18.0.3"},
		Ports: []PortBinding{
			{ContainerPort: 3000, Proto: "tcp", HostIP: "0.0.0.0", HostPort: 3000},
			{ContainerPort: 3000, Proto: "tcp", HostIP: "::", HostPort: 3000},
			{ContainerPort: 9229, Proto: "tcp", HostIP: "127.0.0.1", HostPort: 9229},
		},
		StopSignal: "SIGINT", StopTimeout: &timeout,
		Labels:         info.Config.Labels,
		ReadOnlyRootfs: true,
		Mounts: []Mount{
			{Type: "tmpfs", Destination: "/app/cache", ReadOnly: true},
			{Type: "volume", Destination: "/app/node_modules"},
			{Type: "tmpfs", Destination: "/app/tmp"},
			{Type: "bind", Destination: "/etc/app", ReadOnly: true},
			{Type: "tmpfs", Destination: "/run"},
		},
	}
	if !got.StartedAt.Equal(want.StartedAt) {
		t.Errorf("StartedAt = %v, want %v", got.StartedAt, want.StartedAt)
	}
	got.StartedAt = want.StartedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fromInspect =\n%+v\nwant\n%+v", got, want)
	}
}

func TestFromInspectMissingParts(t *testing.T) {
	got := fromInspect(container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{
		ID: "x", Name: "/x", State: &container.State{Status: "created", StartedAt: "0001-01-01T00:00:00Z"},
	}})
	if !got.StartedAt.IsZero() || got.State != "created" || got.Name != "x" || got.Number != 0 {
		t.Errorf("fromInspect = %+v", got)
	}
	if got := fromInspect(container.InspectResponse{}); got.ID != "" {
		t.Errorf("fromInspect(empty) = %+v", got)
	}
}

func TestShortID(t *testing.T) {
	full := strings.Repeat("0123456789abcdef", 4)
	tests := map[string]string{
		full:                    "0123456789ab",
		"0123456789ab":          "0123456789ab",
		"shop-api-1":            "shop-api-1",
		strings.Repeat("z", 64): strings.Repeat("z", 64),
	}
	for in, want := range tests {
		if got := ShortID(in); got != want {
			t.Errorf("ShortID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCappedBuffer(t *testing.T) {
	b := &cappedBuffer{limit: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.buf.Bytes(); !bytes.Equal(got, []byte("abcde")) {
		t.Errorf("kept %q, want %q", got, "abcde")
	}
}
