package nodeproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-base/metrics/testutil"

	"github.com/cloudlb/cloudlb/nodeproxy/proxy"
)

// fakeProxies is a stateful stand-in for the proxies: one socket per listen address and
// protocol, as the kernel enforces, and every proxy ever built.
type fakeProxies struct {
	mu    sync.Mutex
	taken map[string]bool // "TCP 127.0.0.1:30080": bound by someone else or a running proxy
	all   []*fakeProxy
}

type fakeProxy struct {
	f        *fakeProxies
	opts     proxy.Options
	mu       sync.Mutex
	running  bool
	stopped  bool
	backends []proxy.Backend
	stats    proxy.Stats
}

func (f *fakeProxies) new(o proxy.Options) (PortProxy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &fakeProxy{f: f, opts: o}
	f.all = append(f.all, p)
	return p, nil
}

func (p *fakeProxy) sock() string { return p.opts.Protocol + " " + p.opts.ListenAddr }

func (p *fakeProxy) Start(context.Context) error {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	if p.f.taken[p.sock()] {
		return fmt.Errorf("listen %s %s: %w", strings.ToLower(p.opts.Protocol), p.opts.ListenAddr, syscall.EADDRINUSE)
	}
	p.f.taken[p.sock()] = true
	p.running = true
	return nil
}

func (p *fakeProxy) SetBackends(b []proxy.Backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = slices.Clone(b)
}

func (p *fakeProxy) Stop() error {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	if p.running {
		delete(p.f.taken, p.sock())
	}
	p.running, p.stopped = false, true
	return nil
}

func (p *fakeProxy) Stats() proxy.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// running returns the running proxies by socket.
func (f *fakeProxies) running() map[string]*fakeProxy {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]*fakeProxy{}
	for _, p := range f.all {
		if p.running {
			out[p.sock()] = p
		}
	}
	return out
}

func (f *fakeProxies) sockets() []string {
	var out []string
	for s := range f.running() {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// newFakeNodePortProxies serves two node addresses: 127.0.0.1 and 10.0.0.5.
func newFakeNodePortProxies(t *testing.T, events EventRecorder, proxyProtocol int) (*NodePortProxies, *fakeProxies) {
	t.Helper()
	f := &fakeProxies{taken: map[string]bool{}}
	n, err := NewNodePortProxies(NodePortProxyOptions{
		NodePortAddresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")},
		ProxyProtocol:     proxyProtocol,
		Events:            events,
		InterfaceAddrs: func() ([]net.Addr, error) {
			return []net.Addr{
				&net.IPNet{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(8, 32)},
				&net.IPNet{IP: net.IPv4(10, 0, 0, 5), Mask: net.CIDRMask(24, 32)},
				&net.IPNet{IP: net.IPv4(192, 168, 1, 1), Mask: net.CIDRMask(24, 32)},
			}, nil
		},
		NewProxy: f.new,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n, f
}

func backend(ip string, port int32) Backend {
	return Backend{Addr: netip.MustParseAddr(ip), Port: port}
}

func proxyBackend(addr string, ready bool) proxy.Backend {
	return proxy.Backend{Addr: netip.MustParseAddrPort(addr), Ready: ready}
}

// webService has a TCP and a UDP NodePort and an SCTP one (never proxied).
func webService(affinity time.Duration, terminating bool, backends ...Backend) ServiceDecision {
	return ServiceDecision{
		Service: types.NamespacedName{Namespace: "ns", Name: "web"}, UID: "uid-web",
		HealthCheckNodePort: 32000, SessionAffinityTimeout: affinity, Terminating: terminating,
		Ports: []PortDecision{
			{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30080, Backends: backends},
			{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053, Backends: backends},
			{Name: "sctp", Protocol: v1.ProtocolSCTP, Port: 99, NodePort: 30099, Backends: backends},
		},
	}
}

func TestNodePortProxiesReconcile(t *testing.T) {
	n, f := newFakeNodePortProxies(t, nil, 2)
	ctx := context.Background()
	apply := func(d *Desired) {
		t.Helper()
		if err := n.Apply(ctx, d); err != nil {
			t.Fatalf("Apply = %v, want nil", err)
		}
	}
	wantSockets := []string{"TCP 10.0.0.5:30080", "TCP 127.0.0.1:30080", "UDP 10.0.0.5:30053", "UDP 127.0.0.1:30053"}

	// New Service: one proxy per port, protocol and node address; SCTP is skipped.
	apply(&Desired{Services: []ServiceDecision{webService(time.Hour, false, backend("10.1.0.1", 8080), backend("10.1.0.2", 8080))}})
	if got := f.sockets(); !reflect.DeepEqual(got, wantSockets) {
		t.Fatalf("sockets = %v, want %v", got, wantSockets)
	}
	first := f.running()
	for sock, p := range first {
		if p.opts.SessionAffinityTimeout != time.Hour || p.opts.DialRetries != DefaultProxyDialRetries {
			t.Errorf("%s: options %+v", sock, p.opts)
		}
		wantPP := 0
		if p.opts.Protocol == proxy.ProtocolTCP {
			wantPP = 2 // PROXY protocol has no UDP form
		}
		if p.opts.ProxyProtocol != wantPP {
			t.Errorf("%s: PROXY protocol %d, want %d", sock, p.opts.ProxyProtocol, wantPP)
		}
		want := []proxy.Backend{proxyBackend("10.1.0.1:8080", true), proxyBackend("10.1.0.2:8080", true)}
		if !reflect.DeepEqual(p.backends, want) {
			t.Errorf("%s: backends %v, want %v", sock, p.backends, want)
		}
	}
	if got := n.Ports(); !reflect.DeepEqual(got, map[types.NamespacedName][]string{{Namespace: "ns", Name: "web"}: {"TCP/30080", "UDP/30053"}}) {
		t.Errorf("Ports = %v", got)
	}

	// Backends change, and only serving-terminating ones are left: same proxies, new backends
	// marked not ready.
	apply(&Desired{Services: []ServiceDecision{webService(time.Hour, true, backend("10.1.0.3", 8080))}})
	for sock, p := range f.running() {
		if first[sock] != p {
			t.Errorf("%s: proxy restarted on a backend change", sock)
		}
		if want := []proxy.Backend{proxyBackend("10.1.0.3:8080", false)}; !reflect.DeepEqual(p.backends, want) {
			t.Errorf("%s: backends %v, want %v", sock, p.backends, want)
		}
	}

	// Affinity change: the proxies are replaced (affinity is fixed when a proxy starts).
	apply(&Desired{Services: []ServiceDecision{webService(0, true, backend("10.1.0.3", 8080))}})
	for sock, p := range f.running() {
		if first[sock] == p || !first[sock].stopped {
			t.Errorf("%s: not restarted on an affinity change", sock)
		}
		if p.opts.SessionAffinityTimeout != 0 || len(p.backends) != 1 {
			t.Errorf("%s: options %+v backends %v", sock, p.opts, p.backends)
		}
	}

	// A port gone: only its proxies stop. Then the Service gone: every proxy stops.
	svc := webService(0, true, backend("10.1.0.3", 8080))
	svc.Ports = svc.Ports[:1]
	apply(&Desired{Services: []ServiceDecision{svc}})
	if got, want := f.sockets(), wantSockets[:2]; !reflect.DeepEqual(got, want) {
		t.Errorf("sockets = %v, want %v", got, want)
	}
	apply(&Desired{})
	if got := f.sockets(); len(got) != 0 {
		t.Errorf("sockets = %v after the Service went", got)
	}
}

// TestNodePortProxiesNodePortMoves: a NodePort released by one Service and allocated to another
// in the same sync is stopped before it is reopened.
func TestNodePortProxiesNodePortMoves(t *testing.T) {
	n, f := newFakeNodePortProxies(t, nil, 0)
	a := webService(0, false, backend("10.1.0.1", 8080))
	if err := n.Apply(context.Background(), &Desired{Services: []ServiceDecision{a}}); err != nil {
		t.Fatal(err)
	}
	b := webService(0, false, backend("10.1.0.9", 9090))
	b.Service.Name = "api"
	if err := n.Apply(context.Background(), &Desired{Services: []ServiceDecision{b}}); err != nil {
		t.Fatal(err)
	}
	if got := n.Ports(); len(got) != 1 || len(got[b.Service]) != 2 {
		t.Errorf("Ports = %v, want the two ports of %s", got, b.Service)
	}
	for sock, p := range f.running() {
		if p.backends[0].Addr.Port() != 9090 {
			t.Errorf("%s forwards to %v", sock, p.backends)
		}
	}
}

func TestNodePortProxiesBindFailure(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	n, f := newFakeNodePortProxies(t, rec, 0)
	f.taken["TCP 10.0.0.5:30080"] = true // e.g. kube-proxy holds it
	d := &Desired{Services: []ServiceDecision{webService(0, false, backend("10.1.0.1", 8080))}}
	for range 2 { // the second sync retries, counts again, does not repeat the Event
		if err := n.Apply(context.Background(), d); err != nil {
			t.Fatalf("Apply = %v, want nil: a taken port is the Service's trouble, not the node's", err)
		}
	}
	// The UDP port is served; the TCP port's proxy on 127.0.0.1 was stopped with the failed one.
	if got, want := f.sockets(), []string{"UDP 10.0.0.5:30053", "UDP 127.0.0.1:30053"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sockets = %v, want %v", got, want)
	}
	if len(rec.Events) != 1 {
		t.Fatalf("%d Events, want 1", len(rec.Events))
	}
	ev := <-rec.Events
	for _, want := range []string{"Warning", ReasonFailedToStartNodePortProxy, "TCP NodePort 30080", "10.0.0.5:30080", "address already in use"} {
		if !strings.Contains(ev, want) {
			t.Errorf("Event %q does not mention %q", ev, want)
		}
	}
	if v, err := testutil.GetCounterMetricValue(proxyBindFailures.WithLabelValues("ns", "web")); err != nil || v != 2 {
		t.Errorf("bind failures = %v (%v), want 2", v, err)
	}

	// The port is freed: the next sync starts it.
	delete(f.taken, "TCP 10.0.0.5:30080")
	if err := n.Apply(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := len(f.sockets()); got != 4 {
		t.Errorf("%d sockets after the port was freed, want 4", got)
	}
}

func TestNodePortProxiesMetrics(t *testing.T) {
	n, f := newFakeNodePortProxies(t, nil, 0)
	svc := webService(0, false, backend("10.1.0.1", 8080))
	svc.Service.Name = "metrics"
	d := &Desired{Services: []ServiceDecision{svc}}
	if err := n.Apply(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	add := func(s proxy.Stats) {
		for _, p := range f.running() {
			p.mu.Lock()
			p.stats.Connections += s.Connections
			p.stats.BytesIn += s.BytesIn
			p.stats.BytesOut += s.BytesOut
			p.stats.DialFailures += s.DialFailures
			p.mu.Unlock()
		}
	}
	check := func(what string, want map[string]float64) {
		t.Helper()
		got := map[string]float64{}
		var err error
		get := func(name string, v float64, e error) {
			got[name] = v
			err = errors.Join(err, e)
		}
		v, e := testutil.GetCounterMetricValue(proxyConnections.WithLabelValues("ns", "metrics"))
		get("connections", v, e)
		v, e = testutil.GetCounterMetricValue(proxyBytes.WithLabelValues("ns", "metrics", "in"))
		get("in", v, e)
		v, e = testutil.GetCounterMetricValue(proxyBytes.WithLabelValues("ns", "metrics", "out"))
		get("out", v, e)
		v, e = testutil.GetCounterMetricValue(proxyDialFailures.WithLabelValues("ns", "metrics"))
		get("dial", v, e)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: metrics %v (%v), want %v", what, got, err, want)
		}
	}
	// Four proxies (two ports, two addresses) each count once per Apply.
	add(proxy.Stats{Connections: 1, BytesIn: 10, BytesOut: 100, DialFailures: 1})
	if err := n.Apply(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	check("first", map[string]float64{"connections": 4, "in": 40, "out": 400, "dial": 4})
	add(proxy.Stats{Connections: 1, BytesIn: 1})
	// The affinity changes: the proxies are replaced, what they counted is kept.
	svc.SessionAffinityTimeout = time.Minute
	if err := n.Apply(context.Background(), &Desired{Services: []ServiceDecision{svc}}); err != nil {
		t.Fatal(err)
	}
	check("after a restart", map[string]float64{"connections": 8, "in": 44, "out": 400, "dial": 4})
}

func TestNewNodePortProxiesValidates(t *testing.T) {
	if _, err := NewNodePortProxies(NodePortProxyOptions{ProxyProtocol: 3}); err == nil {
		t.Error("PROXY protocol 3 accepted")
	}
}
