// Package proxy is the node agent's NodePort forwarder for externalTrafficPolicy: Local
// Services: one Proxy per NodePort and protocol, forwarding to the local endpoints the agent
// hands it with SetBackends. TCP bytes move with splice(2); UDP is forwarded per client flow.
// Semantics follow kube-proxy (ready endpoints first, serving-terminating ones as a fallback,
// ClientIP affinity refreshed by every new connection) and the removed userspace proxy's
// bounded dial retries, without its panic on EMFILE.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Protocol names accepted in Options.Protocol, spelled as in a Service port.
const (
	ProtocolTCP = "TCP"
	ProtocolUDP = "UDP"
)

// Defaults applied by New to zero-valued Options fields.
const (
	// DefaultDialTimeout bounds one dial to one backend.
	DefaultDialTimeout = time.Second
	// DefaultUDPIdleTimeout matches the kernel's nf_conntrack_udp_timeout (30 s); the old
	// userspace proxy's 250 ms dropped flows of slow request/response protocols.
	DefaultUDPIdleTimeout = 30 * time.Second
	// DefaultStopGracePeriod is how long Stop lets open connections finish.
	DefaultStopGracePeriod = 5 * time.Second
	// MaxSessionAffinityTimeout is the API's maximum for
	// sessionAffinityConfig.clientIP.timeoutSeconds (86400 s).
	MaxSessionAffinityTimeout = 24 * time.Hour
	// MaxDialRetries bounds DialRetries so one connection never walks a long list.
	MaxDialRetries = 16
)

// ErrInvalidOptions is wrapped by every validation error New returns.
var ErrInvalidOptions = errors.New("invalid proxy options")

// Backend is one endpoint of the Service on this node.
type Backend struct {
	// Addr is the endpoint's address and target port.
	Addr netip.AddrPort
	// Ready is false for a serving-terminating endpoint, used only when none is ready.
	Ready bool
}

// Options configure one Proxy.
type Options struct {
	// Protocol is "TCP" or "UDP".
	Protocol string
	// ListenAddr is the host:port to bind, e.g. "10.0.0.5:30080" or ":30080".
	ListenAddr string
	// SessionAffinityTimeout enables ClientIP affinity when > 0; each new connection (UDP
	// flow) from the client restarts it, as iptables' recent module does for kube-proxy.
	SessionAffinityTimeout time.Duration
	// DialTimeout bounds each dial; 0 means DefaultDialTimeout.
	DialTimeout time.Duration
	// DialRetries is how many further distinct backends are tried after a failed dial;
	// 0 means one attempt.
	DialRetries int
	// ProxyProtocol sends a PROXY protocol header of this version (1 or 2) to the backend
	// before any data; 0 disables it. TCP only.
	ProxyProtocol int
	// UDPIdleTimeout removes a UDP flow after no packet in either direction for this long;
	// 0 means DefaultUDPIdleTimeout.
	UDPIdleTimeout time.Duration
	// StopGracePeriod is how long Stop waits for open connections before closing them;
	// 0 means DefaultStopGracePeriod.
	StopGracePeriod time.Duration
	// SourceRanges, when not empty, is the set of client prefixes allowed (the Service's
	// loadBalancerSourceRanges); other clients are closed (TCP) or dropped (UDP) and counted.
	// kube-proxy does not enforce these for NodePort traffic (reference D.4), so the agent
	// sets them only when it chooses to.
	SourceRanges []netip.Prefix
}

// Stats are cumulative counters of one Proxy since New.
type Stats struct {
	// Connections counts accepted TCP connections or created UDP flows.
	Connections uint64
	// Active is the number of open TCP connections or live UDP flows.
	Active int64
	// BytesIn counts bytes from clients to backends. A TCP connection adds its bytes when
	// a direction finishes, because splice moves them without passing through the proxy.
	BytesIn uint64
	// BytesOut counts bytes from backends to clients.
	BytesOut uint64
	// DialFailures counts failed dials, one per attempt.
	DialFailures uint64
	// NoBackend counts connections or packets dropped because no backend was set or every
	// attempt failed.
	NoBackend uint64
	// AcceptErrors counts accept (TCP) or read (UDP) errors that were backed off, such as
	// EMFILE and ENFILE.
	AcceptErrors uint64
	// SourceRangeDrops counts clients outside SourceRanges.
	SourceRangeDrops uint64
}

// Proxy forwards one NodePort to a replaceable set of backends.
type Proxy struct {
	opts Options

	backends atomic.Pointer[backendSet]
	affinity *affinityTable
	now      func() time.Time // swapped by tests to expire affinity without waiting
	// wrapListener, set only by tests, wraps the TCP listener to inject accept errors.
	wrapListener func(net.Listener) net.Listener

	mu       sync.Mutex
	started  bool
	stopped  bool
	ln       net.Listener
	udp      *net.UDPConn
	conns    map[*tcpConnPair]struct{}
	drained  chan struct{} // closed by the last untrack while Stop waits
	flows    map[netip.AddrPort]*udpFlow
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  error

	stats counters
}

type counters struct {
	connections, bytesIn, bytesOut, dialFailures, noBackend, acceptErrors, sourceDrops atomic.Uint64
	active                                                                             atomic.Int64
}

// New validates opts, fills in defaults and returns a Proxy that is not yet listening.
func New(opts Options) (*Proxy, error) {
	if err := validate(&opts); err != nil {
		return nil, err
	}
	p := &Proxy{
		opts:  opts,
		now:   time.Now,
		conns: map[*tcpConnPair]struct{}{},
		flows: map[netip.AddrPort]*udpFlow{},
	}
	p.affinity = newAffinityTable(opts.SessionAffinityTimeout)
	p.backends.Store(&backendSet{})
	return p, nil
}

func validate(o *Options) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	if o.Protocol != ProtocolTCP && o.Protocol != ProtocolUDP {
		return bad("protocol %q must be %q or %q", o.Protocol, ProtocolTCP, ProtocolUDP)
	}
	if _, _, err := net.SplitHostPort(o.ListenAddr); err != nil {
		return bad("listen address %q: %v", o.ListenAddr, err)
	}
	if o.SessionAffinityTimeout < 0 || o.SessionAffinityTimeout > MaxSessionAffinityTimeout {
		return bad("session affinity timeout %s must be between 0 and %s", o.SessionAffinityTimeout, MaxSessionAffinityTimeout)
	}
	if o.DialTimeout < 0 {
		return bad("dial timeout %s must not be negative", o.DialTimeout)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.DialRetries < 0 || o.DialRetries > MaxDialRetries {
		return bad("dial retries %d must be between 0 and %d", o.DialRetries, MaxDialRetries)
	}
	switch o.ProxyProtocol {
	case 0:
	case 1, 2:
		if o.Protocol != ProtocolTCP {
			// v1 has no UDP form and v2 over datagrams is left undefined by the spec.
			return bad("PROXY protocol is supported for TCP only, not %s", o.Protocol)
		}
	default:
		return bad("PROXY protocol version %d must be 0, 1 or 2", o.ProxyProtocol)
	}
	if o.UDPIdleTimeout < 0 {
		return bad("UDP idle timeout %s must not be negative", o.UDPIdleTimeout)
	}
	if o.UDPIdleTimeout == 0 {
		o.UDPIdleTimeout = DefaultUDPIdleTimeout
	}
	if o.StopGracePeriod < 0 {
		return bad("stop grace period %s must not be negative", o.StopGracePeriod)
	}
	if o.StopGracePeriod == 0 {
		o.StopGracePeriod = DefaultStopGracePeriod
	}
	for _, r := range o.SourceRanges {
		if !r.IsValid() {
			return bad("source range %v is not a valid prefix", r)
		}
	}
	return nil
}

// Start binds the listening socket and serves in the background until Stop or until ctx is
// done. It returns the bind error, if any.
func (p *Proxy) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.stopped {
		return errors.New("proxy already started or stopped")
	}
	p.ctx, p.cancel = context.WithCancel(ctx)
	var lc net.ListenConfig
	switch p.opts.Protocol {
	case ProtocolTCP:
		ln, err := lc.Listen(ctx, "tcp", p.opts.ListenAddr)
		if err != nil {
			p.cancel()
			return fmt.Errorf("listen tcp %s: %w", p.opts.ListenAddr, err)
		}
		if p.wrapListener != nil {
			ln = p.wrapListener(ln)
		}
		p.ln = ln
		p.wg.Go(func() { p.serveTCP(ln) })
	case ProtocolUDP:
		pc, err := lc.ListenPacket(ctx, "udp", p.opts.ListenAddr)
		if err != nil {
			p.cancel()
			return fmt.Errorf("listen udp %s: %w", p.opts.ListenAddr, err)
		}
		udp := pc.(*net.UDPConn)
		p.udp = udp
		p.wg.Go(func() { p.serveUDP(udp) })
	}
	p.started = true
	if p.affinity.enabled() {
		p.wg.Go(p.sweepAffinity)
	}
	go func() {
		<-p.ctx.Done()
		_ = p.Stop()
	}()
	return nil
}

// Addr is the bound address, useful when ListenAddr had port 0; nil before Start.
func (p *Proxy) Addr() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.ln != nil:
		return p.ln.Addr()
	case p.udp != nil:
		return p.udp.LocalAddr()
	}
	return nil
}

// Stop closes the listening socket, lets open TCP connections finish for the grace period,
// then closes them and every UDP flow. It waits for all goroutines and is idempotent.
func (p *Proxy) Stop() error {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopped = true
		ln, udp, cancel := p.ln, p.udp, p.cancel
		p.mu.Unlock()
		if cancel == nil { // never started
			return
		}
		if ln != nil {
			p.stopErr = ln.Close()
			p.drainTCP()
		}
		if udp != nil {
			p.stopErr = udp.Close()
			p.closeAllFlows()
		}
		cancel()
		p.wg.Wait()
	})
	return p.stopErr
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	s := &p.stats
	return Stats{
		Connections:      s.connections.Load(),
		Active:           s.active.Load(),
		BytesIn:          s.bytesIn.Load(),
		BytesOut:         s.bytesOut.Load(),
		DialFailures:     s.dialFailures.Load(),
		NoBackend:        s.noBackend.Load(),
		AcceptErrors:     s.acceptErrors.Load(),
		SourceRangeDrops: s.sourceDrops.Load(),
	}
}

// allowed reports whether a client may use the proxy under SourceRanges.
func (p *Proxy) allowed(client netip.Addr) bool {
	if len(p.opts.SourceRanges) == 0 {
		return true
	}
	client = client.Unmap()
	for _, r := range p.opts.SourceRanges {
		if r.Contains(client) {
			return true
		}
	}
	p.stats.sourceDrops.Add(1)
	return false
}

// sweepAffinity drops expired affinity entries so the table stays bounded by the clients
// seen within one timeout.
func (p *Proxy) sweepAffinity() {
	interval := min(p.opts.SessionAffinityTimeout, time.Minute)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			p.affinity.sweep(p.now())
		}
	}
}

// sleepCtx waits d or until the proxy stops; false means stopped.
func (p *Proxy) sleepCtx(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
