package daemon

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/devdtool/devd/control"
)

// processStatus reads devd's goroutine count, open files and resident
// memory. Open files and memory come from /proc and are unknown elsewhere.
func processStatus() *control.ProcessStatus {
	st := &control.ProcessStatus{Goroutines: runtime.NumGoroutine(), OpenFiles: -1}
	if entries, err := os.ReadDir("/proc/self/fd"); err == nil {
		st.OpenFiles = len(entries)
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return st
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// The line reads "VmRSS:     12345 kB".
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "VmRSS:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				st.RSSBytes = kb * 1024
			}
		}
	}
	return st
}
