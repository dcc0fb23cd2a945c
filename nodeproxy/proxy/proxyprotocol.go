package proxy

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// proxyV2Signature opens every PROXY protocol v2 header (haproxy proxy-protocol.txt, 2.2).
var proxyV2Signature = [12]byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}

// proxyHeader builds the PROXY protocol header of the given version for a TCP connection from
// src to dst (the address the client connected to). IPv4-mapped addresses are unmapped; when
// the two families still differ the header says UNKNOWN (v1) or AF_UNSPEC (v2), which the
// spec allows and receivers treat as "use the real connection addresses".
func proxyHeader(version int, src, dst netip.AddrPort) []byte {
	// Zones have no place in either format.
	src = netip.AddrPortFrom(src.Addr().Unmap().WithZone(""), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap().WithZone(""), dst.Port())
	known := src.Addr().Is4() == dst.Addr().Is4() && src.Addr().IsValid() && dst.Addr().IsValid()
	if version == 1 {
		return proxyV1(known, src, dst)
	}
	return proxyV2(known, src, dst)
}

// proxyV1 is the human-readable form:
// "PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n" (spec 2.1), at most 107 bytes.
func proxyV1(known bool, src, dst netip.AddrPort) []byte {
	if !known {
		return []byte("PROXY UNKNOWN\r\n")
	}
	fam := "TCP6"
	if src.Addr().Is4() {
		fam = "TCP4"
	}
	b := make([]byte, 0, 107)
	b = append(b, "PROXY "...)
	b = append(b, fam...)
	b = append(b, ' ')
	b = src.Addr().AppendTo(b)
	b = append(b, ' ')
	b = dst.Addr().AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, '\r', '\n')
}

// proxyV2 is the binary form (spec 2.2): signature, version 2 + PROXY command (0x21),
// family/transport (0x11 TCP over IPv4, 0x21 TCP over IPv6, 0x00 unspecified), a big-endian
// length, then source address, destination address, source port, destination port. No TLVs.
func proxyV2(known bool, src, dst netip.AddrPort) []byte {
	b := make([]byte, 0, 16+36)
	b = append(b, proxyV2Signature[:]...)
	b = append(b, 0x21)
	if !known {
		return append(b, 0x00, 0x00, 0x00)
	}
	if src.Addr().Is4() {
		b = append(b, 0x11)
		b = binary.BigEndian.AppendUint16(b, 12)
		s, d := src.Addr().As4(), dst.Addr().As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		b = append(b, 0x21)
		b = binary.BigEndian.AppendUint16(b, 36)
		s, d := src.Addr().As16(), dst.Addr().As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}
