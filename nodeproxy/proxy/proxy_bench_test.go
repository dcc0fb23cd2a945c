package proxy

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The benchmarks measure the same loopback path three ways in one run, interleaved per
// iteration so machine noise hits all three alike: straight to the backend, through this
// proxy, and through HAProxy (Debian package haproxy, mode tcp) when it is installed.

const (
	bulkBytes   = 256 << 20 // bytes per bulk transfer
	bulkChunk   = 256 << 10 // write and read size
	connsPerRun = 2000      // connections per mode and iteration
	connWorkers = 4         // concurrent clients opening them
)

// path is one way to reach the backend.
type path struct {
	name string
	addr string
}

// benchPaths starts a proxy (and HAProxy when installed) in front of backend.
func benchPaths(b *testing.B, backend netip.AddrPort) []path {
	b.Helper()
	p, err := New(Options{Protocol: ProtocolTCP, ListenAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	p.SetBackends([]Backend{{Addr: backend, Ready: true}})
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Stop() })
	paths := []path{{"direct", backend.String()}, {"proxy", p.Addr().String()}}
	if addr, ok := startHAProxy(b, backend); ok {
		paths = append(paths, path{"haproxy", addr})
	}
	return paths
}

// startHAProxy runs haproxy in the foreground with a generated mode tcp config.
func startHAProxy(b *testing.B, backend netip.AddrPort) (string, bool) {
	b.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		b.Log("haproxy not installed (Debian package haproxy): HAProxy figures skipped")
		return "", false
	}
	port := deadAddrB(b)
	cfg := fmt.Sprintf(`global
    maxconn 5000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1m
    timeout server 1m
    option splice-auto
listen bench
    bind %s
    server s1 %s
`, port, backend)
	file := filepath.Join(b.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-q", "-f", file)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start haproxy: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", port.String())
		if err == nil {
			c.Close()
			return port.String(), true
		}
		select {
		case err := <-exited:
			b.Fatalf("haproxy exited before listening (%v); config:\n%s", err, cfg)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("haproxy did not listen on %s: %v", port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deadAddrB(b *testing.B) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// startSink reads each connection to EOF and answers with the byte count.
func startSink(b *testing.B) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, bulkChunk)
				var n uint64
				for {
					m, err := c.Read(buf)
					n += uint64(m)
					if err != nil {
						break
					}
				}
				c.Write(binary.BigEndian.AppendUint64(nil, n))
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// startOneByteEcho echoes one byte and closes first, so TIME_WAIT stays on server ports.
func startOneByteEcho(b *testing.B) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf)
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// bulk sends bulkBytes on one connection and waits for the sink's count.
func bulk(b *testing.B, addr string, buf []byte) time.Duration {
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for sent := 0; sent < bulkBytes; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	ack := make([]byte, 8)
	if _, err := io.ReadFull(c, ack); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if n := binary.BigEndian.Uint64(ack); n != bulkBytes {
		b.Fatalf("%s: sink got %d bytes, want %d", addr, n, bulkBytes)
	}
	return d
}

// BenchmarkTCPBulkThroughput: one bulk stream of 256 MiB per path and iteration.
func BenchmarkTCPBulkThroughput(b *testing.B) {
	paths := benchPaths(b, startSink(b))
	buf := make([]byte, bulkChunk)
	total := make([]time.Duration, len(paths))
	for b.Loop() {
		for i, p := range paths {
			total[i] += bulk(b, p.addr, buf)
		}
	}
	rate := make(map[string]float64)
	for i, p := range paths {
		rate[p.name] = float64(bulkBytes) * float64(b.N) / total[i].Seconds() / 1e6
		b.ReportMetric(rate[p.name], p.name+"-MB/s")
	}
	b.ReportMetric(rate["proxy"]/rate["direct"], "proxy/direct")
	if h, ok := rate["haproxy"]; ok {
		b.ReportMetric(h/rate["direct"], "haproxy/direct")
		b.ReportMetric(rate["proxy"]/h, "proxy/haproxy")
	}
}

// connect opens connsPerRun connections from connWorkers clients, each sending one byte and
// reading it back until the server's close.
func connect(b *testing.B, addr string) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, connWorkers)
	for range connWorkers {
		wg.Go(func() {
			buf := make([]byte, 2)
			for range connsPerRun / connWorkers {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				c.Write(buf[:1])
				n, _ := io.ReadFull(c, buf)
				c.Close()
				if n != 1 {
					errs <- fmt.Errorf("%s: echo returned %d bytes", addr, n)
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return d
}

// BenchmarkTCPNewConnections: connections per second, each a full open/1-byte/close cycle.
func BenchmarkTCPNewConnections(b *testing.B) {
	paths := benchPaths(b, startOneByteEcho(b))
	total := make([]time.Duration, len(paths))
	for b.Loop() {
		for i, p := range paths {
			total[i] += connect(b, p.addr)
		}
	}
	rate := make(map[string]float64)
	for i, p := range paths {
		rate[p.name] = float64(connsPerRun) * float64(b.N) / total[i].Seconds()
		b.ReportMetric(rate[p.name], p.name+"-conns/s")
	}
	b.ReportMetric(rate["proxy"]/rate["direct"], "proxy/direct")
	if h, ok := rate["haproxy"]; ok {
		b.ReportMetric(h/rate["direct"], "haproxy/direct")
		b.ReportMetric(rate["proxy"]/h, "proxy/haproxy")
	}
}
