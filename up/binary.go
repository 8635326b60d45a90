package up

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvSupervisor names the environment variable that points at a static
// Linux devd binary to run as the supervisor, for when the running devd
// cannot serve (a macOS host, a cgo build, another architecture).
const EnvSupervisor = "DEVD_SUPERVISOR"

// ErrNoSupervisor is wrapped by SupervisorBinary's error when no suitable
// binary is found. The message contains the command that builds one.
var ErrNoSupervisor = errors.New("no static Linux devd binary for the supervisor")

// hashPrefix is how many hex digits of the binary's SHA-256 name its cache
// folder: enough to never collide between the versions one user has.
const hashPrefix = 16

// SupervisorBinary returns the host path of a static Linux devd binary for
// the engine's architecture arch (as Go names it: "amd64", "arm64"), to be
// bind-mounted into containers. The path outlives this process: the binary
// is copied to $XDG_CACHE_HOME/devd/bin/<hash>/devd (~/.cache by default),
// named by its content, so a running container keeps its binary when devd
// is upgraded, and the copy is reused while the content is the same.
//
// The running executable is used when it is a static Linux binary for
// arch, because it is the same version as the daemon that talks to the
// supervisor. Otherwise the file named by DEVD_SUPERVISOR is checked and
// used. Otherwise the error wraps ErrNoSupervisor and contains the command
// that builds a binary.
func SupervisorBinary(arch string) (string, error) {
	return binarySource{
		executable: os.Executable,
		goos:       runtime.GOOS,
		getenv:     os.Getenv,
	}.find(arch)
}

// binarySource holds the places SupervisorBinary looks in, so tests can
// replace them.
type binarySource struct {
	executable func() (string, error)
	goos       string
	getenv     func(string) string
}

func (s binarySource) find(arch string) (string, error) {
	cache, err := cacheDir(s.getenv)
	if err != nil {
		return "", err
	}

	var why error
	if s.goos != "linux" {
		why = fmt.Errorf("this devd is built for %s", s.goos)
	} else if exe, err := s.executable(); err != nil {
		why = fmt.Errorf("finding the devd executable: %w", err)
	} else if why = checkBinary(exe, arch); why == nil {
		return install(exe, cache)
	}

	if env := expandHome(s.getenv(EnvSupervisor), s.getenv("HOME")); env != "" {
		if err := checkBinary(env, arch); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %w; %s", ErrNoSupervisor, EnvSupervisor, env, err, buildHint(arch))
		}
		return install(env, cache)
	}
	return "", fmt.Errorf("%w: %w; %s", ErrNoSupervisor, why, buildHint(arch))
}

// buildHint returns the command that builds a supervisor binary for arch.
func buildHint(arch string) string {
	out := "~/.cache/devd/devd-linux-" + arch
	return fmt.Sprintf("build one in devd's source folder with `CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -o %s github.com/devdtool/devd/cmd/devd` and set %s=%s",
		arch, out, EnvSupervisor, out)
}

// expandHome replaces a leading "~/" with the home folder, for a path set
// where no shell expanded it (an IDE's run configuration, say).
func expandHome(path, home string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok && home != "" {
		return filepath.Join(home, rest)
	}
	return path
}

// cacheDir returns devd's cache folder: $XDG_CACHE_HOME/devd, else
// $HOME/.cache/devd. The XDG base directory rules ignore a relative value.
func cacheDir(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_CACHE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "devd"), nil
	}
	home := getenv("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("finding the cache folder: neither XDG_CACHE_HOME nor HOME is set to an absolute path")
	}
	return filepath.Join(home, ".cache", "devd"), nil
}

// elfMachines maps Go architectures to the ELF machine and class of their
// binaries. ppc64le is distinguished from ppc64 by byte order.
var elfMachines = map[string]struct {
	machine elf.Machine
	class   elf.Class
	order   binary.ByteOrder
}{
	"amd64":   {elf.EM_X86_64, elf.ELFCLASS64, binary.LittleEndian},
	"arm64":   {elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian},
	"arm":     {elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian},
	"386":     {elf.EM_386, elf.ELFCLASS32, binary.LittleEndian},
	"ppc64le": {elf.EM_PPC64, elf.ELFCLASS64, binary.LittleEndian},
	"s390x":   {elf.EM_S390, elf.ELFCLASS64, binary.BigEndian},
	"riscv64": {elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian},
}

// checkBinary checks that the file is a Linux ELF executable for arch that
// needs no dynamic loader: the containers it runs in may have no C library
// at all.
func checkBinary(file, arch string) error {
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("the engine's architecture %q is not one devd is built for", arch)
	}
	f, err := elf.Open(file)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) {
			return fmt.Errorf("%s is not a Linux (ELF) executable", file)
		}
		return fmt.Errorf("reading %s: %w", file, err)
	}
	defer f.Close()

	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return fmt.Errorf("%s is built for %s, not Linux", file, f.OSABI)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is not an executable", file)
	}
	if f.Machine != want.machine || f.Class != want.class || f.ByteOrder != want.order {
		return fmt.Errorf("%s is built for %s, not for the engine's %s", file, f.Machine, arch)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is linked dynamically (a cgo build) and would not start in containers without its C library", file)
		}
	}
	return nil
}

// install copies the binary to <cache>/bin/<hash>/devd, unless a copy is
// there already, and returns the copy's path. The copy is written to a
// temporary file and renamed, so a concurrent devd never reads half a file.
func install(src, cache string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("reading supervisor binary %s: %w", src, err)
	}
	defer in.Close()
	h := sha256.New()
	size, err := io.Copy(h, in)
	if err != nil {
		return "", fmt.Errorf("reading supervisor binary %s: %w", src, err)
	}
	dir := filepath.Join(cache, "bin", hex.EncodeToString(h.Sum(nil))[:hashPrefix])
	dst := filepath.Join(dir, "devd")
	if fi, err := os.Stat(dst); err == nil && fi.Mode().IsRegular() && fi.Size() == size && fi.Mode().Perm()&0o111 != 0 {
		return dst, nil
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating supervisor cache folder: %w", err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("reading supervisor binary %s: %w", src, err)
	}
	tmp, err := os.CreateTemp(dir, ".devd-*")
	if err != nil {
		return "", fmt.Errorf("copying supervisor binary: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return "", fmt.Errorf("copying supervisor binary to %s: %w", dst, err)
	}
	return dst, nil
}
