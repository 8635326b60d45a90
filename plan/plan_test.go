package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/compose"
)

func testServices() []compose.Service {
	return []compose.Service{
		{
			Name:    "api",
			Watch:   true,
			Restart: compose.RestartMode{Kind: compose.RestartContainer},
			Triggers: []compose.Trigger{{
				Source:      compose.SourceBindMount,
				Action:      compose.ActionRestart,
				Path:        "/p/api",
				Target:      "/usr/src/app",
				BindMounted: true,
				Hidden:      []string{"/p/api/node_modules"},
			}},
		},
		{
			Name:                 "notification",
			Watch:                true,
			BuildContext:         "/p/notification",
			DockerignorePatterns: []string{"*.log", "tmp/"},
			Triggers: []compose.Trigger{{
				Source: compose.SourceDevelopWatch,
				Action: compose.ActionSyncRestart,
				Path:   "/p/notification",
				Target: "/usr/src/app",
				Ignore: []string{"node_modules/"},
			}},
		},
		{
			Name:  "static",
			Watch: true,
			Triggers: []compose.Trigger{{
				Source:  compose.SourceDevelopWatch,
				Action:  compose.ActionSync,
				Path:    "/p/static",
				Target:  "/srv",
				Include: []string{"*.css"},
			}},
		},
		{
			Name:  "off",
			Watch: false,
			Triggers: []compose.Trigger{{
				Action: compose.ActionRestart,
				Path:   "/p",
			}},
		},
	}
}

type workSummary struct {
	Service string
	Paths   []string
	Restart bool
	Count   int
}

func summarize(works []Work) []workSummary {
	var out []workSummary
	for _, w := range works {
		out = append(out, workSummary{Service: w.Service, Paths: w.SortedPaths(), Restart: w.Restart, Count: w.PathCount})
	}
	return out
}

func TestMake(t *testing.T) {
	rules, err := Compile(testServices())
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		paths []string
		want  []workSummary
	}{
		{
			name:  "bind mount restarts without copying",
			paths: []string{"/p/api/server.js"},
			want:  []workSummary{{Service: "api", Restart: true, Count: 1}},
		},
		{
			name:  "hidden node_modules is ignored",
			paths: []string{"/p/api/node_modules/x/index.js"},
		},
		{
			name:  "sync+restart copies and restarts",
			paths: []string{"/p/notification/a.js", "/p/notification/lib/b.js"},
			want: []workSummary{{Service: "notification", Paths: []string{"/p/notification/a.js", "/p/notification/lib/b.js"},
				Restart: true, Count: 2}},
		},
		{
			name:  "trigger ignore and dockerignore",
			paths: []string{"/p/notification/node_modules/m.js", "/p/notification/debug.log", "/p/notification/tmp/x"},
		},
		{
			name:  "editor temporary files and .git",
			paths: []string{"/p/notification/a.js~", "/p/notification/4913", "/p/notification/.a.js.swp", "/p/notification/.git/HEAD", "/p/notification/x___jb_tmp___"},
		},
		{
			name:  "include limits a sync trigger",
			paths: []string{"/p/static/site.css", "/p/static/site.js"},
			want:  []workSummary{{Service: "static", Paths: []string{"/p/static/site.css"}, Count: 1}},
		},
		{
			name:  "unwatched service gets nothing",
			paths: []string{"/p/README.md"},
		},
		{
			name:  "a prefix of the root is not under it",
			paths: []string{"/p/notification-old/a.js", "/p/api2/x.js"},
		},
		{
			name:  "one batch for two services",
			paths: []string{"/p/api/a.js", "/p/notification/b.js"},
			want: []workSummary{
				{Service: "api", Restart: true, Count: 1},
				{Service: "notification", Paths: []string{"/p/notification/b.js"}, Restart: true, Count: 1},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(Make(tc.paths, rules, "/p", time.Time{}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Make(%v)\n got %+v\nwant %+v", tc.paths, got, tc.want)
			}
		})
	}
}

func TestMakeReasonsAreRelative(t *testing.T) {
	rules, err := Compile(testServices())
	if err != nil {
		t.Fatal(err)
	}
	works := Make([]string{"/p/api/src/routes.js"}, rules, "/p", time.Time{})
	if len(works) != 1 {
		t.Fatalf("got %d works, want 1", len(works))
	}
	if want := []string{"api/src/routes.js"}; !reflect.DeepEqual(works[0].Reasons, want) {
		t.Errorf("reasons = %v, want %v", works[0].Reasons, want)
	}
}

func TestMergeKeepsRestartAndDedupes(t *testing.T) {
	rules, err := Compile(testServices())
	if err != nil {
		t.Fatal(err)
	}
	first := Make([]string{"/p/notification/a.js"}, rules, "/p", time.Time{})[0]
	second := Make([]string{"/p/notification/a.js", "/p/notification/b.js"}, rules, "/p", time.Time{})[0]
	first.Merge(second)

	if got, want := first.SortedPaths(), []string{"/p/notification/a.js", "/p/notification/b.js"}; !reflect.DeepEqual(got, want) {
		t.Errorf("merged paths = %v, want %v", got, want)
	}
	if len(first.Changes) != 2 {
		t.Errorf("merged work has %d changes, want 2", len(first.Changes))
	}
	if !first.Restart {
		t.Error("merged work lost its restart")
	}
	if first.PathCount != 2 {
		t.Errorf("merged work counts %d paths, want 2 distinct", first.PathCount)
	}
}

func TestMergeRevivedMark(t *testing.T) {
	rules, err := Compile(testServices())
	if err != nil {
		t.Fatal(err)
	}
	revived := Make([]string{"/p/notification/a.js"}, rules, "/p", time.Time{})[0]
	revived.Restart = false
	revived.Revived = true
	fresh := Make([]string{"/p/notification/b.js"}, rules, "/p", time.Time{})[0]

	pending := Work{Service: revived.Service}
	pending.Merge(revived)
	if !pending.Revived {
		t.Error("empty work merged with revived changes lost the revived mark")
	}

	pending.Merge(Work{Service: revived.Service})
	if !pending.Revived {
		t.Error("revived work merged with empty work lost the revived mark")
	}

	pending.Merge(fresh)
	if pending.Revived {
		t.Error("revived work merged with a new change is still marked revived")
	}
}

func TestSplitWork(t *testing.T) {
	rules, err := Compile(testServices())
	if err != nil {
		t.Fatal(err)
	}
	work := Make([]string{"/p/notification/a.js"}, rules, "/p", time.Time{})[0]
	if !work.Restart || len(work.Changes) == 0 {
		t.Fatalf("test work %+v should copy and restart", work)
	}

	copies, actions := work.Split()
	if copies.Restart || len(copies.Changes) != len(work.Changes) {
		t.Errorf("copies = %+v, want the changes without the restart", copies)
	}
	if !actions.Restart || len(actions.Changes) != 0 || actions.PathCount != work.PathCount {
		t.Errorf("actions = %+v, want the restart with the path count and no changes", actions)
	}

	// Merged again, they count each path once.
	copies.Merge(actions)
	if copies.PathCount != work.PathCount || !copies.Restart {
		t.Errorf("merged again = %+v, want %d paths and the restart", copies, work.PathCount)
	}

	copyOnly := work
	copyOnly.Restart = false
	if _, actions := copyOnly.Split(); !actions.Empty() {
		t.Errorf("work without a restart split into actions %+v, want none", actions)
	}
	rebuild := Work{Service: "api", Rebuild: true, Changes: work.Changes}
	if copies, actions := rebuild.Split(); !copies.Empty() || !actions.Rebuild {
		t.Errorf("rebuild split into %+v and %+v, want all of it in actions", copies, actions)
	}
}

func TestSkipWatch(t *testing.T) {
	rules, err := Compile(testServices())
	if err != nil {
		t.Fatal(err)
	}
	skip := SkipWatch(rules, []string{"/p/compose.yaml"})

	cases := []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"/p/api", true, false},
		{"/p/api/src", true, false},
		{"/p/api/node_modules", true, true},
		{"/p/notification/node_modules", true, true},
		{"/p/notification/.git", true, true},
		{"/p/notification/tmp", true, true},
		{"/p/notification/lib", true, false},
		{"/p/notification/debug.log", false, true},
		{"/p/compose.yaml", false, false},
		{"/p/other", true, true},
	}
	for _, tc := range cases {
		if got := skip(tc.path, tc.isDir); got != tc.want {
			t.Errorf("skip(%q, dir=%v) = %v, want %v", tc.path, tc.isDir, got, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	services := append(testServices(),
		compose.Service{
			Name:  "worker",
			Watch: true,
			Triggers: []compose.Trigger{{
				Source:      compose.SourceBindMount,
				Action:      compose.ActionRestart,
				Path:        "/p/worker",
				Target:      "/srv",
				BindMounted: true,
				Ignore:      []string{"*.log"},
				XDevdIgnore: []string{"*.log"},
			}},
		},
		compose.Service{
			Name:  "billing",
			Watch: true,
			Triggers: []compose.Trigger{{
				Source: compose.SourceHostBuild,
				Action: compose.ActionHostBuild,
				Path:   "/p/billing",
				Ignore: []string{"bin/billing", "bin"},
			}},
		},
	)
	rules, err := Compile(services)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path      string
		service   string
		matched   bool
		ignoredBy string
		hidden    string
		target    string
	}{
		{path: "/p/notification/lib/a.js", service: "notification", matched: true, target: "/usr/src/app/lib/a.js"},
		{path: "/p/notification/debug.log", service: "notification", ignoredBy: `"*.log" (.dockerignore of /p/notification)`},
		{path: "/p/notification/node_modules/x.js", service: "notification", ignoredBy: `"node_modules/" (develop.watch ignore)`},
		{path: "/p/notification/a.js~", service: "notification", ignoredBy: "editor temporary file (always ignored)"},
		{path: "/p/api/node_modules/x.js", service: "api", hidden: "/p/api/node_modules"},
		{path: "/p/static/site.js", service: "static", ignoredBy: "not matched by include *.css"},
		{path: "/p/worker/out.log", service: "worker", ignoredBy: `"*.log" (x-devd ignore)`},
		{path: "/p/billing/bin/billing", service: "billing", ignoredBy: `"bin" (x-devd.build output)`},
	}
	for _, tc := range cases {
		got := Explain(tc.path, rules)
		if len(got) != 1 {
			t.Errorf("Explain(%s) returned %d explanations, want 1", tc.path, len(got))
			continue
		}
		e := got[0]
		if e.Service != tc.service || e.Matched() != tc.matched || e.IgnoredBy != tc.ignoredBy || e.Hidden != tc.hidden || e.ContainerPath != tc.target {
			t.Errorf("Explain(%s) = service %s matched %v ignored by %q hidden %q target %q; want %s %v %q %q %q",
				tc.path, e.Service, e.Matched(), e.IgnoredBy, e.Hidden, e.ContainerPath,
				tc.service, tc.matched, tc.ignoredBy, tc.hidden, tc.target)
		}
	}
	if got := Explain("/elsewhere/x", rules); len(got) != 0 {
		t.Errorf("Explain of a path outside every tree = %d explanations, want none", len(got))
	}
}

func TestManifestChangeInstallsInContainer(t *testing.T) {
	rules, err := Compile(testServices())
	if err != nil {
		t.Fatal(err)
	}

	// api keeps node_modules in an anonymous volume: its install must run
	// in the container.
	works := Make([]string{"/p/api/package-lock.json"}, rules, "/p", time.Time{})
	if len(works) != 1 || len(works[0].Execs) != 1 {
		t.Fatalf("works = %+v, want one with an install command", works)
	}
	hook := works[0].Execs[0]
	if strings.Join(hook.Command, " ") != "npm install" || hook.WorkingDir != "/usr/src/app" {
		t.Errorf("install hook = %+v, want npm install in /usr/src/app", hook)
	}
	if !works[0].Restart {
		t.Error("a manifest change no longer restarts the service")
	}

	// Two saves give one install, and a nested package.json none.
	works = Make([]string{"/p/api/package.json", "/p/api/package-lock.json", "/p/api/lib/package.json"}, rules, "/p", time.Time{})
	if len(works[0].Execs) != 1 {
		t.Errorf("got %d install commands for one service, want 1", len(works[0].Execs))
	}

	// notification has no hidden node_modules: nothing runs.
	works = Make([]string{"/p/notification/package.json"}, rules, "/p", time.Time{})
	if len(works) != 1 || len(works[0].Execs) != 0 {
		t.Errorf("notification works = %+v, want no install command", works)
	}
}

func TestMountedPathsAreWatchedNotCopied(t *testing.T) {
	rules, err := Compile([]compose.Service{{
		Name:  "web",
		Watch: true,
		Triggers: []compose.Trigger{{
			Source:  compose.SourceDevelopWatch,
			Action:  compose.ActionSyncRestart,
			Path:    "/p/web/src",
			Target:  "/srv/src",
			Mounted: []string{"/p/web/src/keep"},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rule := &rules[0].Rules[0]

	for _, p := range []string{"/p/web/src/keep", "/p/web/src/keep/k.js"} {
		if !rule.Matches(p) {
			t.Errorf("Matches(%s) = false, want true: a change there still restarts", p)
		}
		if !rule.Tree.Skip(p, p == "/p/web/src/keep") {
			t.Errorf("Tree.Skip(%s) = false, want true: a copy would write through the bind mount", p)
		}
	}
	if rule.Tree.Skip("/p/web/src/keeper.js", false) {
		t.Error("Tree.Skip(/p/web/src/keeper.js) = true, want false: only the mounted folder is left out")
	}

	works := Make([]string{"/p/web/src/keep/k.js"}, rules, "/p", time.Time{})
	if len(works) != 1 || !works[0].Restart || len(works[0].Changes) != 0 {
		t.Errorf("Make for a mounted path = %+v, want one restart and no change to copy", works)
	}

	got := Explain("/p/web/src/keep/k.js", rules)
	if len(got) != 1 {
		t.Fatalf("Explain returned %d explanations, want 1", len(got))
	}
	if got[0].ContainerPath != "" {
		t.Errorf("ContainerPath = %q, want none: the path is not copied", got[0].ContainerPath)
	}
	if got[0].MountedAt != "/srv/src/keep/k.js" {
		t.Errorf("MountedAt = %q, want /srv/src/keep/k.js", got[0].MountedAt)
	}
}
