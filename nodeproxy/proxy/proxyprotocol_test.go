package proxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestProxyHeaderBytes(t *testing.T) {
	t.Parallel()
	sig := "\r\n\r\n\x00\r\nQUIT\n"
	ap := netip.MustParseAddrPort
	tests := []struct {
		name     string
		version  int
		src, dst netip.AddrPort
		want     string
	}{
		{"v1 ipv4", 1, ap("192.0.2.10:56324"), ap("10.0.0.5:30080"),
			"PROXY TCP4 192.0.2.10 10.0.0.5 56324 30080\r\n"},
		{"v1 ipv6", 1, ap("[2001:db8::1]:1"), ap("[2001:db8::ff]:65535"),
			"PROXY TCP6 2001:db8::1 2001:db8::ff 1 65535\r\n"},
		{"v1 mapped ipv4 is tcp4", 1, ap("[::ffff:192.0.2.10]:80"), ap("10.0.0.5:443"),
			"PROXY TCP4 192.0.2.10 10.0.0.5 80 443\r\n"},
		{"v1 mixed families", 1, ap("[2001:db8::1]:1"), ap("10.0.0.5:2"), "PROXY UNKNOWN\r\n"},
		{"v2 ipv4", 2, ap("192.0.2.10:56324"), ap("10.0.0.5:30080"),
			sig + "\x21\x11\x00\x0c" + "\xc0\x00\x02\x0a" + "\x0a\x00\x00\x05" + "\xdc\x04" + "\x75\x80"},
		{"v2 ipv6", 2, ap("[2001:db8::1]:1"), ap("[2001:db8::ff]:65535"),
			sig + "\x21\x21\x00\x24" +
				"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" +
				"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff" +
				"\x00\x01\xff\xff"},
		{"v2 mixed families", 2, ap("[2001:db8::1]:1"), ap("10.0.0.5:2"), sig + "\x21\x00\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := proxyHeader(tt.version, tt.src, tt.dst); string(got) != tt.want {
				t.Fatalf("proxyHeader() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// proxyHeaderInfo is what the test backend parsed from the header it received.
type proxyHeaderInfo struct {
	raw      []byte
	src, dst netip.AddrPort
	rest     string // payload after the header
	err      error
}

// startPROXYBackend parses a PROXY header of the given version per the haproxy spec, then
// reads the rest of the stream, and reports both.
func startPROXYBackend(t *testing.T, version int) (netip.AddrPort, <-chan proxyHeaderInfo) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan proxyHeaderInfo, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		var info proxyHeaderInfo
		if version == 1 {
			info = parseV1(r)
		} else {
			info = parseV2(r)
		}
		rest, _ := io.ReadAll(r)
		info.rest = string(rest)
		ch <- info
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort(), ch
}

func parseV1(r *bufio.Reader) proxyHeaderInfo {
	line, err := r.ReadString('\n')
	info := proxyHeaderInfo{raw: []byte(line)}
	if err != nil || !strings.HasSuffix(line, "\r\n") || len(line) > 107 {
		info.err = fmt.Errorf("bad v1 line %q: %v", line, err)
		return info
	}
	f := strings.Split(strings.TrimSuffix(line, "\r\n"), " ")
	if len(f) != 6 || f[0] != "PROXY" || (f[1] != "TCP4" && f[1] != "TCP6") {
		info.err = fmt.Errorf("bad v1 fields %q", f)
		return info
	}
	src, err1 := netip.ParseAddr(f[2])
	dst, err2 := netip.ParseAddr(f[3])
	sp, err3 := strconv.ParseUint(f[4], 10, 16)
	dp, err4 := strconv.ParseUint(f[5], 10, 16)
	for _, e := range []error{err1, err2, err3, err4} {
		if e != nil {
			info.err = e
			return info
		}
	}
	if src.Is4() != (f[1] == "TCP4") {
		info.err = fmt.Errorf("family %s does not match %s", f[1], src)
	}
	info.src, info.dst = netip.AddrPortFrom(src, uint16(sp)), netip.AddrPortFrom(dst, uint16(dp))
	return info
}

func parseV2(r *bufio.Reader) proxyHeaderInfo {
	hdr := make([]byte, 16)
	var info proxyHeaderInfo
	if _, err := io.ReadFull(r, hdr); err != nil {
		info.err = err
		return info
	}
	n := binary.BigEndian.Uint16(hdr[14:16])
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		info.err = err
		return info
	}
	info.raw = append(hdr, body...)
	switch {
	case !bytes.Equal(hdr[:12], proxyV2Signature[:]):
		info.err = fmt.Errorf("bad signature % x", hdr[:12])
	case hdr[12] != 0x21:
		info.err = fmt.Errorf("version/command 0x%02x, want 0x21 (v2 PROXY)", hdr[12])
	case hdr[13] == 0x11 && n >= 12:
		info.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		info.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
	case hdr[13] == 0x21 && n >= 36:
		info.src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
		info.dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
	default:
		info.err = fmt.Errorf("family/transport 0x%02x with length %d", hdr[13], n)
	}
	return info
}

func TestProxyProtocolTowardsBackend(t *testing.T) {
	t.Parallel()
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			t.Parallel()
			backend, got := startPROXYBackend(t, version)
			p := startProxy(t, Options{ProxyProtocol: version}, Backend{Addr: backend, Ready: true})
			c, err := net.Dial("tcp", p.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			client := c.LocalAddr().(*net.TCPAddr).AddrPort()
			proxyAddr := c.RemoteAddr().(*net.TCPAddr).AddrPort()
			io.WriteString(c, "payload")
			c.(*net.TCPConn).CloseWrite()

			var info proxyHeaderInfo
			select {
			case info = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("backend got nothing")
			}
			if info.err != nil {
				t.Fatalf("backend could not parse the header %q: %v", info.raw, info.err)
			}
			if info.src != client || info.dst != proxyAddr {
				t.Fatalf("header says %s -> %s, want client %s -> %s", info.src, info.dst, client, proxyAddr)
			}
			if want := proxyHeader(version, client, proxyAddr); !bytes.Equal(info.raw, want) {
				t.Fatalf("header bytes %q, want %q", info.raw, want)
			}
			if version == 1 {
				want := fmt.Sprintf("PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n", client.Port(), proxyAddr.Port())
				if string(info.raw) != want {
					t.Fatalf("v1 line %q, want %q", info.raw, want)
				}
			}
			if info.rest != "payload" {
				t.Fatalf("payload after header = %q", info.rest)
			}
		})
	}
}
