package debug

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestVSCodeNode(t *testing.T) {
	e := Endpoint{
		Service: "api", Runtime: RuntimeNode, ContainerPort: 9229, Address: "127.0.0.1:19229",
		Sources: []PathMapping{{Host: "/home/me/shop/api", Container: "/usr/src/app"}, {Host: "/home/me/shop/lib", Container: "/lib"}},
	}
	cfg, ok := e.VSCode("devd: api", "/home/me/shop")
	if !ok {
		t.Fatal("no configuration for a Node.js endpoint")
	}
	got, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"devd: api","type":"node","request":"attach","address":"127.0.0.1","port":19229,"restart":true,` +
		`"localRoot":"${workspaceFolder}/api","remoteRoot":"/usr/src/app","skipFiles":["\u003cnode_internals\u003e/**"]}`
	if string(got) != want {
		t.Errorf("configuration\n%s\nwant\n%s", got, want)
	}
}

func TestVSCodeGo(t *testing.T) {
	e := Endpoint{
		Service: "billing", Runtime: RuntimeGo, ContainerPort: 2345, Address: "0.0.0.0:2345",
		Sources: []PathMapping{{Host: "/home/me/shop/billing", Container: "/src"}, {Host: "/opt/shared", Container: "/shared"}},
	}
	cfg, ok := e.VSCode("devd: billing", "/home/me/shop")
	if !ok {
		t.Fatal("no configuration for a Go endpoint")
	}
	want := VSCodeConfig{
		Name: "devd: billing", Type: "go", Request: "attach", Mode: "remote", Host: "127.0.0.1", Port: 2345,
		SubstitutePath: []SubstitutePath{{From: "${workspaceFolder}/billing", To: "/src"}, {From: "/opt/shared", To: "/shared"}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("configuration\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestVSCodeUnknownRuntime(t *testing.T) {
	if _, ok := (Endpoint{Service: "x", ContainerPort: 5000, Address: "127.0.0.1:5000"}).VSCode("x", "/p"); ok {
		t.Error("a configuration for an unknown runtime")
	}
	if _, ok := (Endpoint{Service: "x", ContainerPort: 5000, Address: "127.0.0.1:5000"}).JetBrains(); ok {
		t.Error("a JetBrains configuration for an unknown runtime")
	}
}

func TestWorkspacePath(t *testing.T) {
	for path, want := range map[string]string{
		"/home/me/shop":          "${workspaceFolder}",
		"/home/me/shop/api":      "${workspaceFolder}/api",
		"/home/me/shop/a/b":      "${workspaceFolder}/a/b",
		"/home/me/shop-other":    "/home/me/shop-other",
		"/home/me":               "/home/me",
		"/home/me/shop/..hidden": "${workspaceFolder}/..hidden",
	} {
		if got := workspacePath("/home/me/shop", path); got != want {
			t.Errorf("workspacePath(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestJetBrains(t *testing.T) {
	src := []PathMapping{{Host: "/home/me/shop/api", Container: "/usr/src/app"}}
	node, ok := Endpoint{Service: "api", Runtime: RuntimeNode, Address: "[::1]:9229", Sources: src}.JetBrains()
	if !ok || node.Configuration != "Attach to Node.js/Chrome" || node.Host != "::1" || node.Port != 9229 || !reflect.DeepEqual(node.RemoteURLs, src) {
		t.Errorf("Node.js: %+v", node)
	}
	goCfg, ok := Endpoint{Service: "b", Runtime: RuntimeGo, Address: "localhost:2345", Sources: src}.JetBrains()
	if !ok || goCfg.Configuration != "Go Remote" || goCfg.Host != "localhost" || goCfg.Port != 2345 || goCfg.RemoteURLs != nil {
		t.Errorf("Go: %+v", goCfg)
	}
}
