package supervisor

import (
	"bufio"
	"io"
	"regexp"
	"strings"
)

// containerDirPattern finds a container id in the source path of the files
// the engine bind-mounts into every container, such as
// /var/lib/docker/containers/<id>/hostname.
var containerDirPattern = regexp.MustCompile(`/containers/([0-9a-f]{64})/`)

// engineMountPoints are the files the engine mounts from the container's
// own folder.
var engineMountPoints = map[string]bool{"/etc/hostname": true, "/etc/hosts": true, "/etc/resolv.conf": true}

// containerIDFromMountinfo returns the 64-digit container id found in a
// /proc/self/mountinfo table, or "" when there is none (not in a Docker
// container, or an engine that lays its files out differently).
func containerIDFromMountinfo(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// id parent major:minor root mount-point options ... - fstype source super-options
		f := strings.Fields(sc.Text())
		if len(f) < 5 || !engineMountPoints[f[4]] {
			continue
		}
		if m := containerDirPattern.FindStringSubmatch(f[3]); m != nil {
			return m[1]
		}
	}
	return ""
}

// socketName returns the file name of the control socket for a container
// id, shortened to 12 digits like the engine's short ids. When the id is
// unknown it uses the hostname, which the engine sets to the short id
// unless the service sets one.
func socketName(containerID, hostname string) string {
	name := hostname
	if containerID != "" {
		name = containerID[:12]
	}
	name = strings.ReplaceAll(name, "/", "_")
	if name == "" {
		name = "supervisor"
	}
	return name + ".sock"
}
