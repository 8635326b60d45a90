//go:build linux

package supervisor

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Bounds of the wait for free ports before a start.
const (
	portWaitTimeout  = 10 * time.Second
	portPollInterval = 10 * time.Millisecond
)

// tcpTables are the kernel's tables of TCP sockets in the supervisor's
// network namespace, which is the container's.
var tcpTables = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// waitPortsFree waits until no socket listens on the configured ports. It
// returns warnings when the ports stayed busy (the command is started
// anyway: the port may belong to a process outside the group that is about
// to go), and false when a shutdown was asked for meanwhile.
func (s *supervisor) waitPortsFree() ([]string, bool) {
	if len(s.cfg.Ports) == 0 {
		return nil, true
	}
	ticker := time.NewTicker(portPollInterval)
	defer ticker.Stop()
	limit := time.NewTimer(portWaitTimeout)
	defer limit.Stop()
	logged := false
	for {
		busy, err := readBusyPorts(s.cfg.Ports)
		if err != nil {
			s.log.Warn("cannot check whether the ports are free", "error", err)
			return []string{fmt.Sprintf("checking ports: %v", err)}, true
		}
		if len(busy) == 0 {
			return nil, true
		}
		if !logged {
			s.log.Info("waiting for ports to be free", "ports", describeBusy(busy))
			logged = true
		}
		switch s.await(nil, nil, ticker.C, limit.C) {
		case awaitShutdown:
			return nil, false
		case awaitDeadline:
			msg := fmt.Sprintf("ports still in use %s after the command stopped: %s", portWaitTimeout, describeBusy(busy))
			s.log.Warn("ports still in use; starting anyway", "ports", describeBusy(busy), "wait", portWaitTimeout)
			return []string{msg}, true
		}
	}
}

// readBusyPorts returns which of ports have a listening socket in this
// network namespace, with the sockets' inodes.
func readBusyPorts(ports []int) (map[int][]uint64, error) {
	var all []listener
	for _, table := range tcpTables {
		f, err := os.Open(table)
		if os.IsNotExist(err) {
			continue // no IPv6 in this namespace
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", table, err)
		}
		ls, err := parseListeners(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", table, err)
		}
		all = append(all, ls...)
	}
	return busyPorts(ports, all), nil
}

// describeBusy names each busy port with the processes holding it, as
// "3000 (pid 42 node)", so that the message names what to stop.
func describeBusy(busy map[int][]uint64) string {
	holders := socketHolders()
	ports := make([]int, 0, len(busy))
	for p := range busy {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	var parts []string
	for _, p := range ports {
		var who []string
		for _, inode := range busy[p] {
			if h, ok := holders[inode]; ok {
				who = append(who, h)
			}
		}
		if len(who) == 0 {
			parts = append(parts, fmt.Sprint(p))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d (%s)", p, strings.Join(who, ", ")))
	}
	return strings.Join(parts, ", ")
}

// socketHolders maps socket inodes to "pid N NAME" for the processes whose
// descriptors this process may read.
func socketHolders() map[uint64]string {
	out := map[uint64]string{}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid := p.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		fds, err := os.ReadDir("/proc/" + pid + "/fd")
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + pid + "/comm")
		for _, fd := range fds {
			target, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name())
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			var inode uint64
			if _, err := fmt.Sscanf(target, "socket:[%d]", &inode); err == nil {
				out[inode] = "pid " + pid + " " + strings.TrimSpace(string(comm))
			}
		}
	}
	return out
}
