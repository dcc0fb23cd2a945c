package proxy

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Accept errors such as EMFILE and ENFILE are retried after a pause that starts here and
// doubles up to acceptBackoffMax; the userspace kube-proxy panicked instead.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return acceptBackoffMin
	}
	return min(2*d, acceptBackoffMax)
}

// tcpConnPair is one proxied connection; backend is set once the dial succeeds.
type tcpConnPair struct {
	client  *net.TCPConn
	mu      sync.Mutex
	backend *net.TCPConn
}

func (c *tcpConnPair) setBackend(b *net.TCPConn) {
	c.mu.Lock()
	c.backend = b
	c.mu.Unlock()
}

func (c *tcpConnPair) close() {
	c.client.Close()
	c.mu.Lock()
	if c.backend != nil {
		c.backend.Close()
	}
	c.mu.Unlock()
}

func (p *Proxy) serveTCP(ln net.Listener) {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || p.ctx.Err() != nil {
				return
			}
			p.stats.acceptErrors.Add(1)
			backoff = nextBackoff(backoff)
			klog.V(2).InfoS("Accept failed, backing off", "listen", p.opts.ListenAddr, "backoff", backoff, "err", err)
			if !p.sleepCtx(backoff) {
				return
			}
			continue
		}
		backoff = 0
		tc, ok := c.(*net.TCPConn)
		if !ok { // only a test listener can hand out something else
			c.Close()
			continue
		}
		p.stats.connections.Add(1)
		pair := &tcpConnPair{client: tc}
		if !p.track(pair) {
			tc.Close()
			continue
		}
		p.wg.Go(func() { p.handleTCP(pair) })
	}
}

func (p *Proxy) track(c *tcpConnPair) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c *tcpConnPair) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	if len(p.conns) == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
}

// drainTCP waits up to the grace period for open connections, then closes the rest.
func (p *Proxy) drainTCP() {
	p.mu.Lock()
	if len(p.conns) == 0 {
		p.mu.Unlock()
		return
	}
	drained := make(chan struct{})
	p.drained = drained
	p.mu.Unlock()

	t := time.NewTimer(p.opts.StopGracePeriod)
	defer t.Stop()
	select {
	case <-drained:
		return
	case <-t.C:
	}
	p.mu.Lock()
	open := make([]*tcpConnPair, 0, len(p.conns))
	for c := range p.conns {
		open = append(open, c)
	}
	p.mu.Unlock()
	klog.V(2).InfoS("Closing connections after the stop grace period", "listen", p.opts.ListenAddr, "connections", len(open))
	for _, c := range open {
		c.close()
	}
}

func (p *Proxy) handleTCP(pair *tcpConnPair) {
	defer p.untrack(pair)
	defer pair.close()
	p.stats.active.Add(1)
	defer p.stats.active.Add(-1)

	client := pair.client
	src := addrPortOf(client.RemoteAddr())
	if !p.allowed(src.Addr()) {
		return
	}
	backend := p.dialTCP(src.Addr())
	if backend == nil {
		p.stats.noBackend.Add(1)
		return
	}
	pair.setBackend(backend)
	if p.opts.ProxyProtocol != 0 {
		hdr := proxyHeader(p.opts.ProxyProtocol, src, addrPortOf(client.LocalAddr()))
		if _, err := backend.Write(hdr); err != nil {
			return
		}
	}
	p.splice(client, backend)
}

// dialTCP tries the candidates in order with the per-dial timeout and returns the first
// connection, or nil when every attempt failed.
func (p *Proxy) dialTCP(client netip.Addr) *net.TCPConn {
	d := net.Dialer{Timeout: p.opts.DialTimeout}
	for i, a := range p.candidates(client) {
		c, err := d.DialContext(p.ctx, "tcp", a.String())
		if err != nil {
			p.stats.dialFailures.Add(1)
			if i == 0 {
				p.affinity.forget(client)
			}
			klog.V(4).InfoS("Dial to backend failed", "listen", p.opts.ListenAddr, "backend", a, "attempt", i+1, "err", err)
			continue
		}
		p.affinity.record(client, a, p.now())
		return c.(*net.TCPConn)
	}
	return nil
}

// splice copies both directions until both are done. (*net.TCPConn).ReadFrom with a
// *net.TCPConn source uses splice(2) on Linux, so payload bytes never enter user space. A
// clean EOF is passed on with CloseWrite (half-close); an error closes both sides so the
// other direction ends too.
func (p *Proxy) splice(client, backend *net.TCPConn) {
	var wg sync.WaitGroup
	wg.Go(func() {
		n, err := backend.ReadFrom(client)
		p.stats.bytesIn.Add(uint64(n))
		if err != nil {
			client.Close()
			backend.Close()
			return
		}
		backend.CloseWrite()
	})
	n, err := client.ReadFrom(backend)
	p.stats.bytesOut.Add(uint64(n))
	if err != nil {
		client.Close()
		backend.Close()
	} else {
		client.CloseWrite()
	}
	wg.Wait()
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}
