package proxy

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// maxDatagram fits any UDP payload, so nothing is truncated (the userspace proxy read 4 KiB).
// Each live flow holds one such buffer; flows end after UDPIdleTimeout.
const maxDatagram = 64 << 10

// udpFlow is one client's "connection": a connected socket to its backend whose replies are
// sent back to the client from the listening socket, so the client sees the address it used.
type udpFlow struct {
	client  netip.AddrPort
	backend netip.AddrPort
	conn    *net.UDPConn
	last    atomic.Int64 // UnixNano of the last packet in either direction
	once    sync.Once
}

func (f *udpFlow) touch() { f.last.Store(time.Now().UnixNano()) }

func (p *Proxy) serveUDP(ln *net.UDPConn) {
	buf := make([]byte, maxDatagram)
	var backoff time.Duration
	for {
		n, client, err := ln.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || p.ctx.Err() != nil {
				return
			}
			p.stats.acceptErrors.Add(1)
			backoff = nextBackoff(backoff)
			klog.V(2).InfoS("UDP read failed, backing off", "listen", p.opts.ListenAddr, "backoff", backoff, "err", err)
			if !p.sleepCtx(backoff) {
				return
			}
			continue
		}
		backoff = 0
		if !p.allowed(client.Addr()) {
			continue
		}
		f := p.flowFor(ln, client)
		if f == nil {
			p.stats.noBackend.Add(1)
			continue
		}
		f.touch()
		if _, err := f.conn.Write(buf[:n]); err != nil {
			// Typically ECONNREFUSED left by an ICMP error for an earlier packet: end the
			// flow so the client's next packet picks a backend afresh.
			p.stats.dialFailures.Add(1)
			p.affinity.forget(client.Addr())
			p.removeFlow(f)
			continue
		}
		p.stats.bytesIn.Add(uint64(n))
	}
}

// flowFor returns the client's flow, creating it (and its reply goroutine) when needed.
func (p *Proxy) flowFor(ln *net.UDPConn, client netip.AddrPort) *udpFlow {
	p.mu.Lock()
	f, ok := p.flows[client]
	p.mu.Unlock()
	if ok {
		return f
	}
	var conn *net.UDPConn
	var backend netip.AddrPort
	for i, a := range p.candidates(client.Addr()) {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a))
		if err != nil {
			p.stats.dialFailures.Add(1)
			if i == 0 {
				p.affinity.forget(client.Addr())
			}
			continue
		}
		conn, backend = c, a
		break
	}
	if conn == nil {
		return nil
	}
	p.affinity.record(client.Addr(), backend, p.now())
	f = &udpFlow{client: client, backend: backend, conn: conn}
	f.touch()
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		conn.Close()
		return nil
	}
	p.flows[client] = f
	p.mu.Unlock()
	p.stats.connections.Add(1)
	p.stats.active.Add(1)
	p.wg.Go(func() { p.udpReplies(ln, f) })
	return f
}

// udpReplies forwards the backend's datagrams to the client until the flow has been idle
// for UDPIdleTimeout or its socket fails or is closed.
func (p *Proxy) udpReplies(ln *net.UDPConn, f *udpFlow) {
	defer p.removeFlow(f)
	idle := p.opts.UDPIdleTimeout
	buf := make([]byte, maxDatagram)
	for {
		f.conn.SetReadDeadline(time.Unix(0, f.last.Load()).Add(idle))
		n, err := f.conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, f.last.Load())) < idle {
				continue // a client packet arrived meanwhile and moved the deadline
			}
			return
		}
		f.touch()
		if _, err := ln.WriteToUDPAddrPort(buf[:n], f.client); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.stats.bytesOut.Add(uint64(n))
	}
}

func (p *Proxy) removeFlow(f *udpFlow) {
	f.once.Do(func() {
		p.mu.Lock()
		if p.flows[f.client] == f {
			delete(p.flows, f.client)
		}
		p.mu.Unlock()
		f.conn.Close()
		p.stats.active.Add(-1)
	})
}

// closeStaleFlows ends flows whose backend is no longer in set.
func (p *Proxy) closeStaleFlows(set *backendSet) {
	p.mu.Lock()
	var stale []*udpFlow
	for _, f := range p.flows {
		if _, ok := set.contains(f.backend); !ok {
			stale = append(stale, f)
		}
	}
	p.mu.Unlock()
	for _, f := range stale {
		p.removeFlow(f)
	}
}

func (p *Proxy) closeAllFlows() {
	p.mu.Lock()
	all := make([]*udpFlow, 0, len(p.flows))
	for _, f := range p.flows {
		all = append(all, f)
	}
	p.mu.Unlock()
	for _, f := range all {
		p.removeFlow(f)
	}
}
