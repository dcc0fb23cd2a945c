package proxy

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// backendSet is an immutable snapshot of the addresses in use; SetBackends swaps it whole so
// a connection never sees a half-updated list.
type backendSet struct {
	addrs []netip.AddrPort
	next  atomic.Uint64 // round-robin cursor, per snapshot
}

func (s *backendSet) contains(a netip.AddrPort) (int, bool) {
	i := slices.Index(s.addrs, a)
	return i, i >= 0
}

// SetBackends atomically replaces the backends. Ready ones are used when there is at least
// one; otherwise the not-ready (serving-terminating) ones are, as kube-proxy does for Local
// Services. Open TCP connections keep their backend; UDP flows to a backend no longer in use
// are closed, as kube-proxy clears their conntrack entries.
func (p *Proxy) SetBackends(backends []Backend) {
	var ready, fallback []netip.AddrPort
	for _, b := range backends {
		if !b.Addr.IsValid() {
			continue
		}
		a := netip.AddrPortFrom(b.Addr.Addr().Unmap(), b.Addr.Port())
		if b.Ready {
			ready = append(ready, a)
		} else {
			fallback = append(fallback, a)
		}
	}
	use := ready
	if len(use) == 0 {
		use = fallback
	}
	// Duplicates would skew round robin and waste retries.
	slices.SortFunc(use, netip.AddrPort.Compare)
	use = slices.Compact(use)
	set := &backendSet{addrs: use}
	p.backends.Store(set)
	if p.opts.Protocol == ProtocolUDP {
		p.closeStaleFlows(set)
	}
}

// candidates returns the backends one new connection from client tries, in order: the
// affine backend (when affinity is on and it is still in use) or the round-robin choice,
// then the following ones, at most 1+DialRetries distinct addresses.
func (p *Proxy) candidates(client netip.Addr) []netip.AddrPort {
	set := p.backends.Load()
	n := len(set.addrs)
	if n == 0 {
		return nil
	}
	start := -1
	if a, ok := p.affinity.lookup(client, p.now()); ok {
		if i, ok := set.contains(a); ok {
			start = i
		}
	}
	if start < 0 {
		start = int((set.next.Add(1) - 1) % uint64(n))
	}
	tries := min(n, 1+p.opts.DialRetries)
	out := make([]netip.AddrPort, tries)
	for i := range tries {
		out[i] = set.addrs[(start+i)%n]
	}
	return out
}

// affinityTable maps a client IP to the backend it last reached, with an expiry that each
// new connection from that client pushes back.
type affinityTable struct {
	timeout time.Duration
	mu      sync.Mutex
	m       map[netip.Addr]affinityEntry
}

type affinityEntry struct {
	backend netip.AddrPort
	expires time.Time
}

func newAffinityTable(timeout time.Duration) *affinityTable {
	return &affinityTable{timeout: timeout, m: map[netip.Addr]affinityEntry{}}
}

func (t *affinityTable) enabled() bool { return t.timeout > 0 }

func (t *affinityTable) lookup(client netip.Addr, now time.Time) (netip.AddrPort, bool) {
	if !t.enabled() {
		return netip.AddrPort{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[client.Unmap()]
	if !ok || !now.Before(e.expires) {
		return netip.AddrPort{}, false
	}
	return e.backend, true
}

// record notes that client reached backend now.
func (t *affinityTable) record(client netip.Addr, backend netip.AddrPort, now time.Time) {
	if !t.enabled() {
		return
	}
	t.mu.Lock()
	t.m[client.Unmap()] = affinityEntry{backend: backend, expires: now.Add(t.timeout)}
	t.mu.Unlock()
}

// forget drops client's entry after its backend failed, like the userspace proxy's
// sessionAffinityReset.
func (t *affinityTable) forget(client netip.Addr) {
	if !t.enabled() {
		return
	}
	t.mu.Lock()
	delete(t.m, client.Unmap())
	t.mu.Unlock()
}

func (t *affinityTable) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.m {
		if !now.Before(e.expires) {
			delete(t.m, k)
		}
	}
}

func (t *affinityTable) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
