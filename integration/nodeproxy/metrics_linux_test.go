package nodeproxy_test

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// defaultMetricsPort is the agent's default metrics port; the test below runs it with the
// default address, so it is not a free port of the test's choosing.
const defaultMetricsPort = 10263

// TestBinaryMetricsOnLoopbackByDefault: without --metrics-bind-address, /metrics answers on
// loopback only, as kube-proxy's --metrics-bind-address default does; exposing it further is
// the operator's choice. The kernel's socket table is the proof: the only listening socket on
// the port is 127.0.0.1's, and a non-loopback address of this host refuses the connection.
func TestBinaryMetricsOnLoopbackByDefault(t *testing.T) {
	if before := listeners(t, defaultMetricsPort); len(before) > 0 {
		t.Skipf("port %d is in use on %v by another process; the default address cannot be tested", defaultMetricsPort, before)
	}
	bin := buildBinary(t)
	p := startBinary(t, bin,
		"--kubeconfig="+shared.KubeconfigPath(),
		"--node-name=np-node-metrics",
		"--healthz-bind-address="+net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t))),
		"--nodeport-addresses=127.0.0.0/8")
	p.waitLines(t, "metrics server", 1, waitTimeout, contains("Metrics server listening"))

	want := []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), defaultMetricsPort)}
	if got := listeners(t, defaultMetricsPort); !slices.Equal(got, want) {
		t.Errorf("listening sockets on port %d: %v, want only %v", defaultMetricsPort, got, want)
	}
	resp, err := httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", defaultMetricsPort))
	if err != nil {
		t.Fatalf("/metrics on loopback: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "cloudlb_nodeproxy_") {
		t.Errorf("/metrics on loopback: %s, no cloudlb_nodeproxy_ metrics", resp.Status)
	}
	ip, ok := nonLoopbackIP(t)
	if !ok {
		t.Log("this host has no non-loopback address; the socket table above is the only check")
		return
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(defaultMetricsPort))
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("%s accepts connections: /metrics is exposed beyond loopback", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s: %v, want connection refused", addr, err)
	}
	p.terminate(t)
}

// listeners are the addresses with a listening TCP socket on port, from the kernel's tables
// (/proc/net/tcp and tcp6 of this network namespace, which the child shares).
func listeners(t *testing.T, port uint16) []netip.AddrPort {
	t.Helper()
	var out []netip.AddrPort
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if errors.Is(err, os.ErrNotExist) && file == "/proc/net/tcp6" {
			continue // no IPv6
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// "  0: 0100007F:2817 00000000:0000 0A ...": local address, remote, state (0A: LISTEN).
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" {
				continue
			}
			ap, err := parseProcAddr(fields[1])
			if err != nil {
				t.Fatalf("%s: %q: %v", file, sc.Text(), err)
			}
			if ap.Port() == port {
				out = append(out, ap)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// parseProcAddr parses "0100007F:2817": the address is hex in 32-bit words, each in host
// (little-endian on every Linux Go runs tests on here) byte order; the port is big-endian hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("no port in %q", s)
	}
	raw, err := hex.DecodeString(hexIP)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q: %v", hexIP, err)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", hexPort, err)
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// nonLoopbackIP is an IPv4 address of this host that is not loopback, if there is one.
func nonLoopbackIP(t *testing.T) (netip.Addr, bool) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}
