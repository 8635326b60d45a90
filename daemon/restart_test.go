package daemon

import (
	"testing"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
)

func TestRestartModeOf(t *testing.T) {
	supervisedLabels := map[string]string{supervisorLabel: "1"}
	plain := compose.Service{Name: "api", Restart: compose.RestartMode{Kind: compose.RestartContainer}}
	chosen := compose.Service{Name: "api", Restart: compose.RestartMode{Kind: compose.RestartNone}, RestartSet: true}
	processMode := compose.Service{Name: "api", Restart: compose.RestartMode{Kind: compose.RestartProcess}, RestartSet: true}
	tests := []struct {
		name       string
		svc        compose.Service
		containers []engine.Container
		want       compose.RestartKind
	}{
		{"no container", plain, nil, compose.RestartContainer},
		{"supervised", plain, []engine.Container{{Service: "api", Running: true, Labels: supervisedLabels}}, compose.RestartProcess},
		{"not supervised", plain, []engine.Container{{Service: "api", Running: true}}, compose.RestartContainer},
		{"supervised but stopped", plain, []engine.Container{{Service: "api", Labels: supervisedLabels}}, compose.RestartContainer},
		{"other service supervised", plain, []engine.Container{{Service: "db", Running: true, Labels: supervisedLabels}}, compose.RestartContainer},
		{"configured mode kept", chosen, []engine.Container{{Service: "api", Running: true, Labels: supervisedLabels}}, compose.RestartNone},
		{"process without supervisor", processMode, []engine.Container{{Service: "api", Running: true}}, compose.RestartContainer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := restartModeOf(tt.svc, tt.containers).Kind; got != tt.want {
				t.Errorf("restart mode = %s, want %s", got, tt.want)
			}
		})
	}
}
