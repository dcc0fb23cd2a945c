package proxy

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// startUDPBackend answers each datagram with "<name>:<payload>".
func startUDPBackend(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.WriteToUDPAddrPort(append([]byte(name+":"), buf[:n]...), from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// udpClient is one client socket; ask sends a datagram and waits for the reply, resending
// because UDP on a busy machine may still drop.
type udpClient struct {
	t *testing.T
	c *net.UDPConn
}

func newUDPClient(t *testing.T, p *Proxy) *udpClient {
	t.Helper()
	c, err := net.DialUDP("udp", nil, p.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpClient{t: t, c: c}
}

func (u *udpClient) ask(msg string) string {
	u.t.Helper()
	buf := make([]byte, maxDatagram)
	for range 20 {
		if _, err := u.c.Write([]byte(msg)); err != nil {
			u.t.Fatal(err)
		}
		u.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := u.c.Read(buf)
		if err == nil {
			return string(buf[:n])
		}
	}
	u.t.Fatalf("no reply to %q", msg)
	return ""
}

func udpReady(addrs ...netip.AddrPort) []Backend {
	out := make([]Backend, len(addrs))
	for i, a := range addrs {
		out[i] = Backend{Addr: a, Ready: true}
	}
	return out
}

func TestUDPFlowsAndReplies(t *testing.T) {
	t.Parallel()
	a, b := startUDPBackend(t, "a"), startUDPBackend(t, "b")
	startUDPBackend(t, "other")
	p := startProxy(t, Options{Protocol: ProtocolUDP}, udpReady(a, b)...)

	// One client keeps its flow (and so its backend) for all its datagrams.
	c1 := newUDPClient(t, p)
	first := c1.ask("1")
	name := strings.SplitN(first, ":", 2)[0]
	if first != name+":1" || (name != "a" && name != "b") {
		t.Fatalf("reply %q", first)
	}
	for _, m := range []string{"2", "3", strings.Repeat("x", 9000)} {
		if got := c1.ask(m); got != name+":"+m {
			t.Fatalf("reply %.20q, want from %s", got, name)
		}
	}
	// The next client's flow goes to the other backend (round robin per flow).
	c2 := newUDPClient(t, p)
	if got := c2.ask("hi"); strings.HasPrefix(got, name+":") || !strings.HasSuffix(got, ":hi") {
		t.Fatalf("second client's reply %q, want from the other backend", got)
	}
	if s := p.Stats(); s.Connections != 2 || s.Active != 2 {
		t.Fatalf("stats = %+v, want 2 flows", s)
	}
}

func TestUDPFlowIdleTimeout(t *testing.T) {
	t.Parallel()
	a := startUDPBackend(t, "a")
	p := startProxy(t, Options{Protocol: ProtocolUDP, UDPIdleTimeout: 100 * time.Millisecond}, udpReady(a)...)
	c := newUDPClient(t, p)
	if got := c.ask("x"); got != "a:x" {
		t.Fatalf("reply %q", got)
	}
	eventually(t, "flow removed after idling", func() bool { return p.Stats().Active == 0 })
	// A new datagram makes a new flow.
	if got := c.ask("y"); got != "a:y" {
		t.Fatalf("reply %q", got)
	}
	if s := p.Stats(); s.Connections < 2 {
		t.Fatalf("flows created = %d, want a second one after the idle timeout", s.Connections)
	}
}

func TestUDPSetBackendsClosesStaleFlows(t *testing.T) {
	t.Parallel()
	a, b := startUDPBackend(t, "a"), startUDPBackend(t, "b")
	p := startProxy(t, Options{Protocol: ProtocolUDP, SessionAffinityTimeout: time.Hour}, udpReady(a)...)
	c := newUDPClient(t, p)
	if got := c.ask("x"); got != "a:x" {
		t.Fatalf("reply %q", got)
	}
	p.SetBackends(udpReady(b))
	eventually(t, "stale flow closed", func() bool { return p.Stats().Active == 0 })
	if got := c.ask("y"); got != "b:y" {
		t.Fatalf("reply %q after the swap, want from b", got)
	}
}

func TestUDPNoBackendAndStop(t *testing.T) {
	t.Parallel()
	p := startProxy(t, Options{Protocol: ProtocolUDP})
	c := newUDPClient(t, p)
	c.c.Write([]byte("x"))
	eventually(t, "dropped datagram counted", func() bool { return p.Stats().NoBackend >= 1 })

	a := startUDPBackend(t, "a")
	p.SetBackends(udpReady(a))
	if got := c.ask("y"); got != "a:y" {
		t.Fatalf("reply %q", got)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Active != 0 {
		t.Fatalf("active flows after Stop = %d", s.Active)
	}
}
