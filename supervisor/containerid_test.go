package supervisor

import (
	"strings"
	"testing"
)

const containerID = "3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"

func TestContainerIDFromMountinfo(t *testing.T) {
	cases := []struct {
		name      string
		mountinfo string
		want      string
	}{
		{
			name: "docker",
			mountinfo: `600 560 0:52 / / rw,relatime master:300 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
601 600 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
615 600 8:1 /var/lib/docker/containers/` + containerID + `/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
616 600 8:1 /var/lib/docker/containers/` + containerID + `/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
`,
			want: containerID,
		},
		{
			name:      "another data root",
			mountinfo: `616 600 8:1 /srv/docker/containers/` + containerID + `/hosts /etc/hosts rw - ext4 /dev/sda1 rw` + "\n",
			want:      containerID,
		},
		{
			name:      "id elsewhere than the engine's files",
			mountinfo: `700 600 8:1 /var/lib/docker/containers/` + containerID + `/x /data rw - ext4 /dev/sda1 rw` + "\n",
			want:      "",
		},
		{
			name:      "no container",
			mountinfo: `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw` + "\n",
			want:      "",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := containerIDFromMountinfo(strings.NewReader(tc.mountinfo)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSocketName(t *testing.T) {
	cases := []struct{ id, hostname, want string }{
		{id: containerID, hostname: "api", want: "3f4e5a6b7c8d.sock"},
		{id: "", hostname: "3f4e5a6b7c8d", want: "3f4e5a6b7c8d.sock"},
		{id: "", hostname: "", want: "supervisor.sock"},
	}
	for _, tc := range cases {
		if got := socketName(tc.id, tc.hostname); got != tc.want {
			t.Errorf("socketName(%q, %q) = %q, want %q", tc.id, tc.hostname, got, tc.want)
		}
	}
}
