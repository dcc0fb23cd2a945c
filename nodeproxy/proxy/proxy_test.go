package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := Options{Protocol: ProtocolTCP, ListenAddr: ":30080"}
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr error
	}{
		{"valid tcp", func(*Options) {}, nil},
		{"valid udp", func(o *Options) { o.Protocol = ProtocolUDP }, nil},
		{"valid everything", func(o *Options) {
			o.SessionAffinityTimeout = 10800 * time.Second
			o.DialRetries = 3
			o.ProxyProtocol = 2
			o.SourceRanges = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, nil},
		{"sctp", func(o *Options) { o.Protocol = "SCTP" }, ErrInvalidOptions},
		{"lower-case protocol", func(o *Options) { o.Protocol = "tcp" }, ErrInvalidOptions},
		{"no port", func(o *Options) { o.ListenAddr = "10.0.0.1" }, ErrInvalidOptions},
		{"negative affinity", func(o *Options) { o.SessionAffinityTimeout = -time.Second }, ErrInvalidOptions},
		{"affinity above a day", func(o *Options) { o.SessionAffinityTimeout = 86401 * time.Second }, ErrInvalidOptions},
		{"negative dial timeout", func(o *Options) { o.DialTimeout = -1 }, ErrInvalidOptions},
		{"negative retries", func(o *Options) { o.DialRetries = -1 }, ErrInvalidOptions},
		{"too many retries", func(o *Options) { o.DialRetries = MaxDialRetries + 1 }, ErrInvalidOptions},
		{"proxy protocol 3", func(o *Options) { o.ProxyProtocol = 3 }, ErrInvalidOptions},
		{"proxy protocol over udp", func(o *Options) { o.Protocol = ProtocolUDP; o.ProxyProtocol = 2 }, ErrInvalidOptions},
		{"negative udp idle", func(o *Options) { o.UDPIdleTimeout = -1 }, ErrInvalidOptions},
		{"negative grace", func(o *Options) { o.StopGracePeriod = -1 }, ErrInvalidOptions},
		{"invalid range", func(o *Options) { o.SourceRanges = []netip.Prefix{{}} }, ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := ok
			tt.mutate(&o)
			p, err := New(o)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New() error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (p.opts.DialTimeout != DefaultDialTimeout || p.opts.UDPIdleTimeout != DefaultUDPIdleTimeout || p.opts.StopGracePeriod != DefaultStopGracePeriod) {
				t.Fatalf("defaults not applied: %+v", p.opts)
			}
		})
	}
}

func TestStartReturnsBindError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p, err := New(Options{Protocol: ProtocolTCP, ListenAddr: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start() = %v, want EADDRINUSE", err)
	}
}

func TestTCPLandsOnlyOnGivenBackends(t *testing.T) {
	t.Parallel()
	a, b, other := startTCPBackend(t, "a"), startTCPBackend(t, "b"), startTCPBackend(t, "other")
	p := startProxy(t, Options{}, ready(a, b)...)

	seen := map[string]int{}
	const n = 20
	for range n {
		got := roundTrip(t, p, "hello")
		name := got[:len(got)-len("\nhello")]
		if got != name+"\nhello" {
			t.Fatalf("round trip = %q, want <name>\\nhello", got)
		}
		seen[name]++
	}
	if seen["a"] != n/2 || seen["b"] != n/2 || len(seen) != 2 {
		t.Fatalf("connections per backend = %v, want %d each on a and b (round robin)", seen, n/2)
	}
	if other.accepted.Load() != 0 {
		t.Fatalf("backend not in the set got %d connections", other.accepted.Load())
	}
	eventually(t, "stats", func() bool {
		s := p.Stats()
		return s.Connections == n && s.Active == 0 && s.BytesIn == n*5 && s.BytesOut == n*(2+5)
	})
}

func TestReadyPreferredOverTerminating(t *testing.T) {
	t.Parallel()
	r, term := startTCPBackend(t, "ready"), startTCPBackend(t, "terminating")
	p := startProxy(t, Options{}, Backend{Addr: term.addr}, Backend{Addr: r.addr, Ready: true})
	for range 4 {
		if name, _ := greeting(t, p); name != "ready" {
			t.Fatalf("got %q, want only the ready backend", name)
		}
	}
	p.SetBackends([]Backend{{Addr: term.addr}})
	if name, _ := greeting(t, p); name != "terminating" {
		t.Fatalf("got %q, want the serving-terminating fallback", name)
	}
}

func TestSessionAffinityHoldsAndExpires(t *testing.T) {
	t.Parallel()
	a, b, c := startTCPBackend(t, "a"), startTCPBackend(t, "b"), startTCPBackend(t, "c")
	p, err := New(Options{Protocol: ProtocolTCP, ListenAddr: "127.0.0.1:0", SessionAffinityTimeout: 10800 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	p.now = func() time.Time { return time.Unix(0, clock.Load()) }
	p.SetBackends(ready(a, b, c))
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })

	first, _ := greeting(t, p)
	for range 10 {
		clock.Add(int64(time.Hour)) // each connection pushes the expiry back
		if name, _ := greeting(t, p); name != first {
			t.Fatalf("affine client moved from %q to %q", first, name)
		}
	}
	clock.Add(int64(10800 * time.Second))
	// Round robin advanced once, for the first connection; the next pick is another backend.
	after, _ := greeting(t, p)
	if after == first {
		t.Fatalf("affinity to %q did not expire", first)
	}
	if name, _ := greeting(t, p); name != after {
		t.Fatalf("new affinity to %q not kept: got %q", after, name)
	}
	clock.Add(int64(10800 * time.Second))
	p.affinity.sweep(p.now())
	if n := p.affinity.size(); n != 0 {
		t.Fatalf("sweep left %d expired entries", n)
	}
}

func TestAffinityMovesWhenBackendLeaves(t *testing.T) {
	t.Parallel()
	a, b := startTCPBackend(t, "a"), startTCPBackend(t, "b")
	p := startProxy(t, Options{SessionAffinityTimeout: time.Hour}, ready(a, b)...)
	first, _ := greeting(t, p)
	rest := a
	if first == "a" {
		rest = b
	}
	p.SetBackends(ready(rest))
	if name, _ := greeting(t, p); name != rest.name {
		t.Fatalf("got %q after its backend left, want %q", name, rest.name)
	}
}

func TestDeadBackendSkippedWithinRetries(t *testing.T) {
	t.Parallel()
	live := startTCPBackend(t, "live")
	p := startProxy(t, Options{DialRetries: 1, DialTimeout: 2 * time.Second},
		Backend{Addr: deadAddr(t), Ready: true}, Backend{Addr: live.addr, Ready: true})
	const n = 10
	for range n {
		if name, _ := greeting(t, p); name != "live" {
			t.Fatalf("got %q, want the live backend", name)
		}
	}
	// Round robin starts half of the connections on the dead one.
	if s := p.Stats(); s.DialFailures != n/2 || s.NoBackend != 0 {
		t.Fatalf("stats = %+v, want %d dial failures and no dropped connection", s, n/2)
	}
}

func TestDialTimeoutMovesOn(t *testing.T) {
	t.Parallel()
	live := startTCPBackend(t, "live")
	hole := blackholeAddr(t)
	const timeout = 300 * time.Millisecond
	p := startProxy(t, Options{DialRetries: 1, DialTimeout: timeout}, Backend{Addr: hole, Ready: true}, Backend{Addr: live.addr, Ready: true})
	var slow bool
	for range 2 { // round robin starts one of the two on the black hole
		start := time.Now()
		if name, _ := greeting(t, p); name != "live" {
			t.Fatalf("got %q, want live after the timed-out dial", name)
		}
		slow = slow || time.Since(start) >= timeout
	}
	if s := p.Stats(); s.DialFailures != 1 || !slow {
		t.Fatalf("stats = %+v, slow = %v; want one timed-out dial", s, slow)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	live := startTCPBackend(t, "live")
	dead := []Backend{{Addr: deadAddr(t), Ready: true}, {Addr: deadAddr(t), Ready: true}, {Addr: deadAddr(t), Ready: true}}
	// No retry: a connection whose turn is a dead backend is dropped even though one is live.
	p := startProxy(t, Options{DialRetries: 0}, append(dead, Backend{Addr: live.addr, Ready: true})...)
	var ok int
	for range 8 {
		if name, c := greeting(t, p); name == "live" {
			ok++
		} else {
			expectClosed(t, c)
		}
	}
	if s := p.Stats(); ok != 2 || s.DialFailures != 6 || s.NoBackend != 6 {
		t.Fatalf("live=%d stats=%+v, want 2 live, 6 dial failures, 6 dropped", ok, s)
	}
}

func TestAllDeadClosesAndCounts(t *testing.T) {
	t.Parallel()
	p := startProxy(t, Options{DialRetries: 5}, Backend{Addr: deadAddr(t), Ready: true}, Backend{Addr: deadAddr(t), Ready: true})
	_, c := greeting(t, p)
	expectClosed(t, c)
	eventually(t, "failure counted", func() bool {
		s := p.Stats()
		// At most one attempt per distinct backend, even with more retries allowed.
		return s.DialFailures == 2 && s.NoBackend == 1 && s.Active == 0
	})

	empty := startProxy(t, Options{})
	_, c = greeting(t, empty)
	expectClosed(t, c)
	eventually(t, "no-backend counted", func() bool { return empty.Stats().NoBackend == 1 })
}

func TestSourceRanges(t *testing.T) {
	t.Parallel()
	a := startTCPBackend(t, "a")
	p := startProxy(t, Options{SourceRanges: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, ready(a)...)
	_, c := greeting(t, p)
	expectClosed(t, c)
	if s := p.Stats(); s.SourceRangeDrops != 1 || a.accepted.Load() != 0 {
		t.Fatalf("stats = %+v, backend accepted %d; want the loopback client rejected", s, a.accepted.Load())
	}
	q := startProxy(t, Options{SourceRanges: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, ready(a)...)
	if name, _ := greeting(t, q); name != "a" {
		t.Fatalf("allowed client got %q", name)
	}
}

func TestSetBackendsWhileTrafficFlows(t *testing.T) {
	t.Parallel()
	a, b := startTCPBackend(t, "a"), startTCPBackend(t, "b")
	p := startProxy(t, Options{}, ready(a)...)

	// A long-lived connection to a keeps working across the swap.
	name, long := greeting(t, p)
	if name != "a" {
		t.Fatalf("got %q", name)
	}
	echo := func(msg string) {
		t.Helper()
		long.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(long, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(long, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, buf, err)
		}
	}
	echo("before")

	// Clients hammer the proxy while the set flips between a and b.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var bad atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.Dial("tcp", p.Addr().String())
				if err != nil {
					bad.Store(err.Error())
					return
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 2)
				if _, err := io.ReadFull(c, buf); err != nil || (string(buf) != "a\n" && string(buf) != "b\n") {
					bad.Store("greeting " + string(buf))
				}
				c.Close()
			}
		})
	}
	// Flip the set ten times, each time waiting for new connections to reach the new one.
	for i := range 10 {
		to := []*tcpBackend{b, a}[i%2]
		n := to.accepted.Load()
		p.SetBackends(ready(to))
		eventually(t, "traffic on "+to.name, func() bool { return to.accepted.Load() > n+3 })
	}
	p.SetBackends(ready(b))
	close(stop)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatalf("a client failed during the swaps: %v", v)
	}
	before := a.accepted.Load()
	for range 4 {
		if name, _ := greeting(t, p); name != "b" {
			t.Fatalf("after the swap got %q, want b", name)
		}
	}
	if a.accepted.Load() != before {
		t.Fatal("a got new connections after it left the set")
	}
	echo("after")
}

func TestStopClosesListenerAndConnections(t *testing.T) {
	t.Parallel()
	a := startTCPBackend(t, "a")
	p := startProxy(t, Options{StopGracePeriod: 50 * time.Millisecond}, ready(a)...)
	addr := p.Addr().String()
	_, idle := greeting(t, p)
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	// The idle connection outlived the grace period and was closed.
	expectClosed(t, idle)
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("proxy still accepts after Stop")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop() = %v", err)
	}
	if s := p.Stats(); s.Active != 0 {
		t.Fatalf("active = %d after Stop", s.Active)
	}
}

func TestStopLetsConnectionsFinish(t *testing.T) {
	t.Parallel()
	a := startTCPBackend(t, "a")
	p := startProxy(t, Options{StopGracePeriod: time.Minute}, ready(a)...)
	_, c := greeting(t, p)
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop() }()
	eventually(t, "listener closed", func() bool {
		c, err := net.Dial("tcp", p.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	// The open connection still works during the grace period, and Stop returns once it ends.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "x")
	buf := make([]byte, 1)
	if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'x' {
		t.Fatalf("echo during grace: %q %v", buf, err)
	}
	c.CloseWrite()
	io.ReadAll(c)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return after the last connection ended")
	}
}

func TestContextCancelStops(t *testing.T) {
	t.Parallel()
	p, err := New(Options{Protocol: ProtocolTCP, ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := p.Addr().String()
	cancel()
	eventually(t, "listener closed", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

// emfileListener fails its first n Accepts with EMFILE, as accept4 does at the fd limit.
type emfileListener struct {
	net.Listener
	n atomic.Int64
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestAcceptEMFILEBacksOff(t *testing.T) {
	t.Parallel()
	a := startTCPBackend(t, "a")
	p, err := New(Options{Protocol: ProtocolTCP, ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	p.wrapListener = func(ln net.Listener) net.Listener {
		l := &emfileListener{Listener: ln}
		l.n.Store(4) // 5+10+20+40 ms of backoff
		return l
	}
	p.SetBackends(ready(a))
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	if name, _ := greeting(t, p); name != "a" {
		t.Fatalf("got %q after EMFILE, want a", name)
	}
	if s := p.Stats(); s.AcceptErrors != 4 {
		t.Fatalf("accept errors = %d, want 4", s.AcceptErrors)
	}
}

func TestNextBackoff(t *testing.T) {
	t.Parallel()
	var d time.Duration
	var got []time.Duration
	for range 10 {
		d = nextBackoff(d)
		got = append(got, d)
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff sequence = %v, want %v ms", got, want)
		}
	}
}
