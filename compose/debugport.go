package compose

import (
	"fmt"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/devdtool/devd/debug"
)

// detectDebug finds the debug ports in a service's entrypoint followed by
// its command, as the container runs them.
func detectDebug(sc types.ServiceConfig) []debug.Detected {
	args := make([]string, 0, len(sc.Entrypoint)+len(sc.Command))
	args = append(args, sc.Entrypoint...)
	args = append(args, sc.Command...)
	if len(args) == 0 {
		return nil
	}
	return debug.Detect(args)
}

// mergeDebug combines the ports declared in `x-devd.debug` with the ones
// detected in the command, sorted by port. A declared port wins over a
// detected one with the same number, but takes from detection the runtime
// when none is declared, and whether the debugger listens on loopback only.
func mergeDebug(declared []DebugPort, detected []debug.Detected) []DebugPort {
	ports := append([]DebugPort(nil), declared...)
	index := map[int]int{}
	for i, p := range ports {
		index[p.Port] = i
	}
	for _, d := range detected {
		if i, ok := index[d.Port]; ok {
			if ports[i].Runtime == "" {
				ports[i].Runtime = d.Runtime
			}
			ports[i].LoopbackOnly = d.LoopbackOnly
			continue
		}
		index[d.Port] = len(ports)
		ports = append(ports, DebugPort{
			Port:         d.Port,
			Runtime:      d.Runtime,
			Detected:     true,
			LoopbackOnly: d.LoopbackOnly,
		})
	}
	sort.SliceStable(ports, func(i, j int) bool { return ports[i].Port < ports[j].Port })
	return ports
}

// debugWarnings explains debuggers that listen on loopback inside the
// container, where no proxy on the host can reach them.
func debugWarnings(service string, detected []debug.Detected) []string {
	var warnings []string
	for _, d := range detected {
		if !d.LoopbackOnly {
			continue
		}
		fix := fmt.Sprintf("make it listen on 0.0.0.0:%d", d.Port)
		switch d.Runtime {
		case debug.RuntimeNode:
			fix = fmt.Sprintf("use --inspect=0.0.0.0:%d", d.Port)
		case debug.RuntimeGo:
			fix = fmt.Sprintf("use --listen=:%d", d.Port)
		}
		warnings = append(warnings, fmt.Sprintf("service %q: %s makes the debugger listen on 127.0.0.1 inside the container, which the host cannot reach: %s in the service's command", service, d.Flag, fix))
	}
	return warnings
}
