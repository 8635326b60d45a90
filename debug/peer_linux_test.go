package debug

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// peerHelperEnv makes the test binary, run again, act as a debugger that
// connects to the address in it and prints what happened.
const peerHelperEnv = "DEVD_DEBUG_PEER_HELPER_ADDR"

// otherUID is the uid and gid the helper runs as to be another user, the
// unprivileged user 65534 that most Linux systems define.
const otherUID = 65534

// procWord writes 4 address bytes as /proc/net/tcp prints them: the
// 32-bit word they form in memory, in hex.
func procWord(b []byte) string {
	return fmt.Sprintf("%08X", binary.NativeEndian.Uint32(b))
}

func TestParseProcAddr(t *testing.T) {
	v4 := procWord([]byte{127, 0, 0, 1}) + ":4B1D"
	v6 := netip.MustParseAddr("::ffff:127.0.0.2").As16()
	v6Text := procWord(v6[0:4]) + procWord(v6[4:8]) + procWord(v6[8:12]) + procWord(v6[12:16]) + ":0050"
	loop := netip.IPv6Loopback().As16()
	loopText := procWord(loop[0:4]) + procWord(loop[4:8]) + procWord(loop[8:12]) + procWord(loop[12:16]) + ":1F90"
	tests := map[string]string{
		v4:       "127.0.0.1:19229",
		v6Text:   "127.0.0.2:80",
		loopText: "[::1]:8080",
	}
	for in, want := range tests {
		got, err := parseProcAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseProcAddr(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F:XYZ", "ZZ00007F:0050", "01007F:0050", "0100007F:10000"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q) succeeded", bad)
		}
	}
	if len(hex.EncodeToString(v6[:])) != 32 {
		t.Fatal("IPv6 address is not 16 bytes")
	}
}

func TestPeerUIDOfOwnConnection(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := "127.0.0.1"
		if network == "tcp6" {
			host = "::1"
		}
		l, err := net.Listen(network, net.JoinHostPort(host, "0"))
		if err != nil {
			t.Logf("no %s loopback: %v", network, err)
			continue
		}
		defer l.Close()
		c, err := net.Dial(network, l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		uid, err := peerUID(s.LocalAddr(), s.RemoteAddr())
		if err != nil || uid != os.Getuid() {
			t.Errorf("%s: peerUID = %d, %v; want %d", network, uid, err, os.Getuid())
		}
		ghost := &net.TCPAddr{IP: net.ParseIP(host), Port: 1}
		if _, err := peerUID(s.LocalAddr(), ghost); !errors.Is(err, errPeerNotFound) {
			t.Errorf("%s: peerUID of an address nothing uses = %v, want errPeerNotFound", network, err)
		}
	}
}

// TestPeerHelperProcess is not a test: it is the debugger process that
// TestProxyRefusesOtherUsers starts as another user.
func TestPeerHelperProcess(t *testing.T) {
	addr := os.Getenv(peerHelperEnv)
	if addr == "" {
		return
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Println("dial error:", err)
		os.Exit(0)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(closeWait))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	switch {
	case n > 0:
		fmt.Printf("greeting: %s", buf[:n])
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		fmt.Println("closed")
	default:
		fmt.Println("read error:", err)
	}
	os.Exit(0)
}

// helperBinary copies the test binary where another user may run it.
func helperBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "devd-peer-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "debug.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}

	return bin
}

// connectAs runs the helper as uid (or as this user when uid is -1)
// against addr and returns what it printed.
func connectAs(t *testing.T, bin, addr string, uid int) string {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestPeerHelperProcess$")
	cmd.Env = append(os.Environ(), peerHelperEnv+"="+addr)
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: otherUID}}
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the helper as uid %d: %v\n%s", uid, err, out)
	}

	return strings.TrimSpace(string(out))
}

func TestProxyRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running a process as another user needs root")
	}
	bin := helperBinary(t)
	var logs syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Output: io.MultiWriter(&logs, t.Output()), Level: hclog.Debug})
	p := startProxy(t, ProxyConfig{Resolve: fixed(startBackend(t, "one")), Logger: logger})
	addr := p.Addr().String()

	if got := connectAs(t, bin, addr, otherUID); got != "closed" {
		t.Errorf("a debugger running as uid %d got %q, want the connection closed", otherUID, got)
	}
	if !strings.Contains(logs.String(), "rejecting debugger connection from another user") || !strings.Contains(logs.String(), fmt.Sprintf("uid=%d", otherUID)) {
		t.Errorf("the refusal is not logged with the uid:\n%s", logs.String())
	}
	if got := connectAs(t, bin, addr, -1); got != "greeting: one" {
		t.Errorf("a debugger running as devd's user got %q, want the target's greeting", got)
	}

	// With the check off, other users get through.
	open := startProxy(t, ProxyConfig{Resolve: fixed(startBackend(t, "two")), AllowOtherUsers: true})
	if got := connectAs(t, bin, open.Addr().String(), otherUID); got != "greeting: two" {
		t.Errorf("with AllowOtherUsers, uid %d got %q, want the target's greeting", otherUID, got)
	}
}

func TestSameUserListenerRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running a process as another user needs root")
	}
	bin := helperBinary(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := SameUserListener{Listener: inner}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("dashboard"))
			_ = c.Close()
		}
	}()

	if got := connectAs(t, bin, inner.Addr().String(), otherUID); got != "closed" {
		t.Errorf("uid %d got %q, want the connection closed", otherUID, got)
	}
	if got := connectAs(t, bin, inner.Addr().String(), -1); got != "greeting: dashboard" {
		t.Errorf("devd's own user got %q, want the greeting", got)
	}
}
