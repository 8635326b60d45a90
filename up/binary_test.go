package up

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// elfSpec describes a fake executable: just the ELF headers that
// checkBinary reads.
type elfSpec struct {
	machine elf.Machine
	class   elf.Class
	osabi   elf.OSABI
	dynamic bool // has a PT_INTERP program header
}

var (
	staticAMD64  = elfSpec{machine: elf.EM_X86_64, class: elf.ELFCLASS64}
	dynamicAMD64 = elfSpec{machine: elf.EM_X86_64, class: elf.ELFCLASS64, dynamic: true}
	staticARM64  = elfSpec{machine: elf.EM_AARCH64, class: elf.ELFCLASS64}
	staticARM    = elfSpec{machine: elf.EM_ARM, class: elf.ELFCLASS32}
	freeBSDAMD64 = elfSpec{machine: elf.EM_X86_64, class: elf.ELFCLASS64, osabi: elf.ELFOSABI_FREEBSD}
)

// writeELF writes a file with the ELF header and program headers described
// by spec, then some bytes that make files of different specs differ.
func writeELF(t *testing.T, path string, spec elfSpec) {
	t.Helper()
	progs := []elf.ProgType{elf.PT_LOAD}
	if spec.dynamic {
		progs = append([]elf.ProgType{elf.PT_INTERP}, progs...)
	}
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(spec.class), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(spec.osabi)}

	var buf bytes.Buffer
	le := binary.LittleEndian
	if spec.class == elf.ELFCLASS64 {
		const ehsize, phsize = 64, 56
		h := elf.Header64{
			Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(spec.machine), Version: uint32(elf.EV_CURRENT),
			Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: uint16(len(progs)),
		}
		must(t, binary.Write(&buf, le, h))
		for _, p := range progs {
			must(t, binary.Write(&buf, le, elf.Prog64{Type: uint32(p)}))
		}
	} else {
		const ehsize, phsize = 52, 32
		h := elf.Header32{
			Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(spec.machine), Version: uint32(elf.EV_CURRENT),
			Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: uint16(len(progs)),
		}
		must(t, binary.Write(&buf, le, h))
		for _, p := range progs {
			must(t, binary.Write(&buf, le, elf.Prog32{Type: uint32(p)}))
		}
	}
	buf.WriteString(path)
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, buf.Bytes(), 0o755))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSupervisorBinary(t *testing.T) {
	tests := []struct {
		name    string
		goos    string
		exe     *elfSpec // nil: the executable cannot be found
		env     *elfSpec // nil: DEVD_SUPERVISOR is not set
		arch    string
		want    string // "exe" or "env": which file is installed
		wantErr []string
	}{
		{name: "static linux executable", goos: "linux", exe: &staticAMD64, arch: "amd64", want: "exe"},
		{name: "executable wins over the variable", goos: "linux", exe: &staticAMD64, env: &staticAMD64, arch: "amd64", want: "exe"},
		{name: "32-bit arm", goos: "linux", exe: &staticARM, arch: "arm", want: "exe"},
		{name: "cgo build falls back to the variable", goos: "linux", exe: &dynamicAMD64, env: &staticAMD64, arch: "amd64", want: "env"},
		{name: "other architecture falls back to the variable", goos: "linux", exe: &staticAMD64, env: &staticARM64, arch: "arm64", want: "env"},
		{name: "macOS host uses the variable", goos: "darwin", exe: &staticAMD64, env: &staticARM64, arch: "arm64", want: "env"},
		{
			name: "cgo build without the variable", goos: "linux", exe: &dynamicAMD64, arch: "amd64",
			wantErr: []string{"linked dynamically", "CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -o ~/.cache/devd/devd-linux-amd64 github.com/devdtool/devd/cmd/devd", "DEVD_SUPERVISOR=~/.cache/devd/devd-linux-amd64"},
		},
		{name: "macOS host without the variable", goos: "darwin", arch: "arm64", wantErr: []string{"built for darwin", "GOARCH=arm64"}},
		{name: "variable for the wrong architecture", goos: "darwin", env: &staticAMD64, arch: "arm64", wantErr: []string{"DEVD_SUPERVISOR=", "built for EM_X86_64, not for the engine's arm64"}},
		{name: "variable naming a dynamic binary", goos: "darwin", env: &dynamicAMD64, arch: "amd64", wantErr: []string{"linked dynamically"}},
		{name: "variable naming a FreeBSD binary", goos: "darwin", env: &freeBSDAMD64, arch: "amd64", wantErr: []string{"not Linux"}},
		{name: "unknown architecture", goos: "linux", exe: &staticAMD64, arch: "mips", wantErr: []string{`architecture "mips"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cache := filepath.Join(dir, "cache")
			env := map[string]string{"XDG_CACHE_HOME": cache, "HOME": filepath.Join(dir, "home")}
			files := map[string]string{}
			src := binarySource{
				goos:       tt.goos,
				getenv:     func(k string) string { return env[k] },
				executable: func() (string, error) { return "", errors.New("no executable") },
			}
			if tt.exe != nil {
				files["exe"] = filepath.Join(dir, "exe", "devd")
				writeELF(t, files["exe"], *tt.exe)
				src.executable = func() (string, error) { return files["exe"], nil }
			}
			if tt.env != nil {
				files["env"] = filepath.Join(dir, "env", "devd-linux")
				writeELF(t, files["env"], *tt.env)
				env[EnvSupervisor] = files["env"]
			}

			got, err := src.find(tt.arch)
			if len(tt.wantErr) > 0 {
				if !errors.Is(err, ErrNoSupervisor) {
					t.Fatalf("error = %v, want ErrNoSupervisor", err)
				}
				for _, part := range tt.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error = %q, want it to contain %q", err, part)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rel, err := filepath.Rel(cache, got); err != nil || !strings.HasPrefix(rel, "devd/bin/") || filepath.Base(got) != "devd" || len(filepath.Base(filepath.Dir(got))) != hashPrefix {
				t.Errorf("path = %s, want %s/devd/bin/<hash>/devd", got, cache)
			}
			want, _ := os.ReadFile(files[tt.want])
			have, _ := os.ReadFile(got)
			if !bytes.Equal(want, have) {
				t.Errorf("installed file is not the %s file", tt.want)
			}
			if fi, err := os.Stat(got); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("installed file mode = %v, %v; want 0755", fi.Mode(), err)
			}
		})
	}
}

func TestSupervisorBinaryReusesCopy(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "devd")
	writeELF(t, exe, staticAMD64)
	src := binarySource{
		goos:       "linux",
		getenv:     func(k string) string { return map[string]string{"HOME": dir}[k] },
		executable: func() (string, error) { return exe, nil },
	}
	first, err := src.find("amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, filepath.Join(dir, ".cache", "devd", "bin")+string(filepath.Separator)) {
		t.Errorf("path = %s, want it under $HOME/.cache/devd/bin", first)
	}
	before, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := src.find("amd64")
	if err != nil || second != first {
		t.Fatalf("second call = %s, %v; want %s", second, err, first)
	}
	after, _ := os.Stat(second)
	if !os.SameFile(before, after) {
		t.Error("the copy was written again")
	}
	entries, _ := os.ReadDir(filepath.Dir(first))
	if len(entries) != 1 {
		t.Errorf("cache folder holds %d entries, want only the binary (no temporary files)", len(entries))
	}

	// A new version gets a folder of its own; the old copy stays for the
	// containers that still run it.
	must(t, os.WriteFile(exe, append(mustRead(t, exe), 0), 0o755))
	third, err := src.find("amd64")
	if err != nil || third == first {
		t.Fatalf("after a change = %s, %v; want a new path", third, err)
	}
	if _, err := os.Stat(first); err != nil {
		t.Errorf("old copy removed: %v", err)
	}
}

func TestSupervisorBinaryExpandsHome(t *testing.T) {
	home := t.TempDir()
	writeELF(t, filepath.Join(home, ".cache", "devd", "devd-linux-amd64"), staticAMD64)
	env := map[string]string{"HOME": home, EnvSupervisor: "~/.cache/devd/devd-linux-amd64"}
	src := binarySource{
		goos:       "darwin",
		getenv:     func(k string) string { return env[k] },
		executable: os.Executable,
	}
	if _, err := src.find("amd64"); err != nil {
		t.Fatalf("DEVD_SUPERVISOR with ~/: %v", err)
	}
}

func TestCheckBinaryNotELF(t *testing.T) {
	file := filepath.Join(t.TempDir(), "script")
	must(t, os.WriteFile(file, []byte("#!/bin/sh\necho hi\n"), 0o755))
	if err := checkBinary(file, "amd64"); err == nil || !strings.Contains(err.Error(), "is not a Linux (ELF) executable") {
		t.Fatalf("error = %v", err)
	}
	if err := checkBinary(filepath.Join(t.TempDir(), "missing"), "amd64"); err == nil || !strings.Contains(err.Error(), "reading") {
		t.Fatalf("error = %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
