package sync_test

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devdtool/devd/engine/enginetest"
	filesync "github.com/devdtool/devd/sync"
)

var (
	seedsFlag = flag.Int("sync.seeds", 3, "number of random seeds TestConvergence runs per image")
	seedFlag  = flag.Uint64("sync.seed", 0, "run TestConvergence with this seed only, to replay a failure")
)

const (
	// minOps is the number of random operations each seed applies at least.
	minOps = 500

	// maxBurst bounds the operations between two Apply calls.
	maxBurst = 12

	// checkEvery is the number of bursts between two full comparisons.
	checkEvery = 10

	// offlineOps is the number of operations made while "devd is down",
	// before the final Reconcile.
	offlineOps = 60

	// maxPause bounds the random pause between two operations.
	maxPause = 2 * time.Millisecond
)

// convergenceSeeds returns the seeds the convergence tests run: the one
// given with -sync.seed, else -sync.seeds random ones.
func convergenceSeeds() []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	var seeds []uint64
	for range *seedsFlag {
		seeds = append(seeds, rand.Uint64()%1_000_000_000+1)
	}
	return seeds
}

// TestConvergence applies random sequences of file operations to a host
// tree, as a developer and their tools would. After each burst it calls
// Apply with the paths touched, which is what devd's watcher reports. The
// container must end up equal to the host: paths, content, modes, link
// targets and owners. Reconcile must then find nothing to do, and must
// repair what changed while nothing was applied.
func TestConvergence(t *testing.T) {
	env := enginetest.New(t)
	images := []struct{ name, image string }{
		{"busybox", env.BusyboxImage()},
		// Deletes go through devd's supervisor there.
		{"no-rm", noRmImage(t, env, true)},
	}
	seeds := convergenceSeeds()

	for _, img := range images {
		t.Run(img.name, func(t *testing.T) {
			id := env.RunContainer(enginetest.ContainerOptions{Name: "convergence-" + img.name, Image: img.image, Init: true})
			for _, seed := range seeds {
				t.Run(fmt.Sprint(seed), func(t *testing.T) {
					defer func() {
						if t.Failed() {
							t.Logf("replay with: go test ./sync/ -run '^TestConvergence$/^%s$/^%d$' -sync.seed %d -v", img.name, seed, seed)
						}
					}()
					runConvergence(t, env, id, seed)
				})
			}
		})
	}
}

func runConvergence(t *testing.T, env *enginetest.Env, id string, seed uint64) {
	runConvergenceWith(t, env.Engine, env.Engine, id, fmt.Sprintf("/srv/seed-%d", seed), filesync.Owner{UID: 1000, GID: 1000}, seed)
}

// runConvergenceWith runs the random operations of one seed against the
// container reached through c, syncing to croot in it with owner, and
// compares the container with the host through verify.
func runConvergenceWith(t *testing.T, c filesync.Reconciler, verify filesync.Reader, id, croot string, owner filesync.Owner, seed uint64) {
	base := t.TempDir()
	root := filepath.Join(base, "tree")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(base, "outside", "secret.txt"), "outside the tree", 0o644)
	skip := func(p string, isDir bool) bool {
		return (isDir && filepath.Base(p) == "node_modules") || (!isDir && strings.HasSuffix(p, ".tmp"))
	}
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: croot, Skip: skip}
	g := &generator{t: t, rng: rand.New(rand.NewPCG(seed, seed>>1)), root: root}

	ctx, cancel := context.WithTimeout(context.Background(), 10*e2eTimeout)
	defer cancel()
	check := func(when string) {
		t.Helper()
		host := hostSnapshot(t, root, skip, owner)
		if diffs := diffSnapshots(host.nodes, containerSnapshot(t, verify, id, tree, host)); len(diffs) > 0 {
			t.Fatalf("%s: container differs from the host:\n%s\nlast operations:\n%s", when, strings.Join(diffs, "\n"), g.recent())
		}
	}

	for burst := 1; g.ops < minOps; burst++ {
		touched := g.burst(g.rng.IntN(maxBurst) + 1)
		res, err := filesync.Apply(ctx, c, id, changesOf(tree, touched...), owner, nil)
		if err != nil {
			t.Fatalf("burst %d: Apply: %v\nlast operations:\n%s", burst, err, g.recent())
		}
		for _, p := range res.Skipped {
			if !g.skippable(p) {
				t.Errorf("burst %d: Apply skipped %s, which the policy keeps", burst, p)
			}
		}
		if burst%checkEvery == 0 {
			check(fmt.Sprintf("after burst %d", burst))
		}
	}
	check("after the last burst")

	res, err := filesync.Reconcile(ctx, c, id, tree, owner, nil)
	if err != nil || res.Copied != 0 || res.Deleted != 0 {
		t.Fatalf("Reconcile after Apply = %+v, %v; want nothing left to do", res, err)
	}

	// Changes that no Apply saw, as when devd was down.
	for g.ops < minOps+offlineOps {
		g.burst(maxBurst)
	}
	if _, err := filesync.Reconcile(ctx, c, id, tree, owner, nil); err != nil {
		t.Fatalf("Reconcile of offline changes: %v", err)
	}
	check("after Reconcile of offline changes")
	if res, err := filesync.Reconcile(ctx, c, id, tree, owner, nil); err != nil || res.Copied != 0 || res.Deleted != 0 {
		t.Fatalf("second Reconcile = %+v, %v; want nothing left to do", res, err)
	}
}

// generator makes random file operations in a host tree and records the
// paths each one touches.
type generator struct {
	t    *testing.T
	rng  *rand.Rand
	root string
	ops  int
	log  []string // one line per operation, bursts separated by "--"
}

// names are the path components the generator picks from, ignored ones and
// awkward ones included.
var names = []string{"a", "b", "c", "src", "node_modules", "f1.js", "f2.js", "sp ace", "ünï.txt", "x.tmp", "..data"}

// burst makes n operations and returns the touched paths.
func (g *generator) burst(n int) []string {
	g.log = append(g.log, "--")
	var touched []string
	for range n {
		touched = append(touched, g.op()...)
		g.ops++
		if g.rng.IntN(5) == 0 {
			// Spread modification times, so that nothing can rest on them.
			time.Sleep(time.Duration(g.rng.Int64N(int64(maxPause))))
		}
	}
	return touched
}

// recent returns the log of the last three bursts.
func (g *generator) recent() string {
	starts := 0
	seen := 0
	for i := len(g.log) - 1; i >= 0; i-- {
		if g.log[i] == "--" {
			seen++
			if seen == 3 {
				starts = i
				break
			}
		}
	}
	return strings.Join(g.log[starts:], "\n")
}

func (g *generator) logf(format string, args ...any) {
	g.log = append(g.log, fmt.Sprintf(format, args...))
}

// entries lists the tree's paths, without following links: folders (the
// root first) and everything else.
func (g *generator) entries() (dirs, others []string) {
	err := filepath.WalkDir(g.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		} else {
			others = append(others, p)
		}
		return nil
	})
	if err != nil {
		g.t.Fatal(err)
	}
	return dirs, others
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *generator) name() string { return g.pick(names) }

func (g *generator) rel(p string) string {
	rel, _ := filepath.Rel(g.root, p)
	return rel
}

func (g *generator) content() []byte {
	size := g.rng.IntN(200)
	if g.rng.IntN(20) == 0 {
		size = 4000 + g.rng.IntN(70_000)
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + g.rng.IntN(26))
	}
	return b
}

// op makes one random operation and returns the paths it touched. An
// operation that does not apply (no file to edit) becomes a creation.
func (g *generator) op() []string {
	dirs, others := g.entries()
	subdirs := dirs[1:]
	var files []string
	for _, p := range others {
		if info, err := os.Lstat(p); err == nil && info.Mode().IsRegular() {
			files = append(files, p)
		}
	}

	switch k := g.rng.IntN(100); {
	case k < 14 || len(files) == 0:
		p := filepath.Join(g.pick(dirs), g.name())
		if _, err := os.Lstat(p); err == nil {
			return g.op()
		}
		g.must(os.WriteFile(p, g.content(), 0o644))
		g.logf("create %s", g.rel(p))
		return []string{p}
	case k < 26:
		p := g.pick(files)
		data := g.content()
		if info, err := os.Stat(p); err == nil && g.rng.IntN(3) == 0 {
			// Same size, other content: only the hash can tell.
			data = make([]byte, info.Size())
			for i := range data {
				data[i] = byte('A' + g.rng.IntN(26))
			}
		}
		g.must(os.WriteFile(p, data, 0o644))
		g.logf("write %s (%d bytes)", g.rel(p), len(data))
		return []string{p}
	case k < 32:
		p := g.pick(files)
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		g.must(err)
		_, err = f.Write(g.content())
		g.must(err)
		g.must(f.Close())
		g.logf("append %s", g.rel(p))
		return []string{p}
	case k < 37:
		p := g.pick(files)
		info, err := os.Stat(p)
		g.must(err)
		size := g.rng.Int64N(info.Size() + 1)
		g.must(os.Truncate(p, size))
		g.logf("truncate %s to %d", g.rel(p), size)
		return []string{p}
	case k < 47:
		modes := []fs.FileMode{0o644, 0o600, 0o755, 0o700, 0o444, 0o640, 0o775, 0o4755, 0o2755}
		p := g.pick(files)
		if len(subdirs) > 0 && g.rng.IntN(3) == 0 {
			modes = []fs.FileMode{0o755, 0o700, 0o775, 0o750, 0o1777}
			p = g.pick(subdirs)
		}
		mode := modes[g.rng.IntN(len(modes))]
		g.must(os.Chmod(p, goMode(mode)))
		g.logf("chmod %o %s", mode, g.rel(p))
		return []string{p}
	case k < 57:
		all := append(slices.Clone(subdirs), others...)
		if len(all) == 0 {
			return g.op()
		}
		old := g.pick(all)
		dst := g.pick(dirs)
		verb := "move"
		if g.rng.IntN(2) == 0 {
			dst, verb = filepath.Dir(old), "rename"
		}
		p := filepath.Join(dst, g.name())
		if p == old || strings.HasPrefix(dst+"/", old+"/") {
			return g.op()
		}
		if err := os.Rename(old, p); err != nil {
			// A folder over a non-empty folder, or a folder over a file.
			return g.op()
		}
		g.logf("%s %s -> %s", verb, g.rel(old), g.rel(p))
		return []string{old, p}
	case k < 65:
		p := g.pick(others)
		g.must(os.Remove(p))
		g.logf("delete %s", g.rel(p))
		return []string{p}
	case k < 75:
		p := filepath.Join(g.pick(dirs), g.name())
		if _, err := os.Lstat(p); err == nil {
			return g.op()
		}
		deep := filepath.Join(p, g.name(), g.name())
		if g.rng.IntN(2) == 0 {
			g.must(os.MkdirAll(deep, 0o755))
			g.must(os.WriteFile(filepath.Join(deep, "f1.js"), g.content(), 0o644))
			g.logf("mkdir -p %s and a file", g.rel(deep))
		} else {
			g.must(os.Mkdir(p, 0o755))
			g.logf("mkdir %s", g.rel(p))
		}
		// A watcher reports the top new folder only.
		return []string{p}
	case k < 81:
		if len(subdirs) == 0 {
			return g.op()
		}
		p := g.pick(subdirs)
		touched := []string{p}
		err := filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
			touched = append(touched, q)
			return err
		})
		g.must(err)
		g.must(os.RemoveAll(p))
		g.logf("rm -r %s", g.rel(p))
		return touched
	case k < 89:
		return g.symlink(dirs, append(slices.Clone(subdirs), others...))
	case k < 91:
		p := filepath.Join(g.pick(dirs), g.name())
		if _, err := os.Lstat(p); err == nil {
			return g.op()
		}
		g.must(syscall.Mkfifo(p, 0o644))
		g.logf("mkfifo %s", g.rel(p))
		return []string{p}
	default:
		return g.replace(subdirs, others)
	}
}

// symlink makes a link inside the tree, leaving it, absolute, or a loop.
func (g *generator) symlink(dirs, targets []string) []string {
	p := filepath.Join(g.pick(dirs), g.name())
	if _, err := os.Lstat(p); err == nil {
		return g.op()
	}
	var target string
	switch g.rng.IntN(6) {
	case 0:
		target = "."
	case 1:
		target = "/etc/hosts"
	case 2:
		rel, _ := filepath.Rel(filepath.Dir(p), filepath.Join(g.root, "..", "outside"))
		target = rel
	case 3:
		target = "missing-" + g.name()
	default:
		if len(targets) == 0 {
			target = "."
			break
		}
		rel, _ := filepath.Rel(filepath.Dir(p), g.pick(targets))
		target = rel
	}
	g.must(os.Symlink(target, p))
	g.logf("ln -s %s %s", target, g.rel(p))
	return []string{p}
}

// replace turns a file or link into a folder, or a folder into a file.
func (g *generator) replace(subdirs, others []string) []string {
	if len(subdirs) > 0 && (len(others) == 0 || g.rng.IntN(2) == 0) {
		p := g.pick(subdirs)
		touched := []string{p}
		g.must(filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
			touched = append(touched, q)
			return err
		}))
		g.must(os.RemoveAll(p))
		g.must(os.WriteFile(p, g.content(), 0o644))
		g.logf("replace folder %s with a file", g.rel(p))
		return touched
	}
	if len(others) == 0 {
		return g.op()
	}
	p := g.pick(others)
	g.must(os.Remove(p))
	g.must(os.Mkdir(p, 0o755))
	g.must(os.WriteFile(filepath.Join(p, g.name()), g.content(), 0o644))
	g.logf("replace %s with a folder holding a file", g.rel(p))
	return []string{p}
}

// skippable reports whether the policy skips p: a special file, or a link
// that is absolute or leaves the tree.
func (g *generator) skippable(p string) bool {
	if info, err := os.Lstat(p); err == nil && info.Mode()&fs.ModeNamedPipe != 0 {
		return true
	}
	target, err := os.Readlink(p)
	if err != nil {
		return false
	}
	rel, _ := filepath.Rel(g.root, filepath.Join(filepath.Dir(p), target))
	return filepath.IsAbs(target) || rel == ".." || strings.HasPrefix(rel, "../")
}

func (g *generator) must(err error) {
	g.t.Helper()
	if err != nil {
		g.t.Fatalf("operation failed: %v\nlast operations:\n%s", err, g.recent())
	}
}

// goMode converts Unix permission bits, with setuid, setgid and sticky, to
// an fs.FileMode.
func goMode(unix fs.FileMode) fs.FileMode {
	m := unix & fs.ModePerm
	if unix&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if unix&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if unix&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
