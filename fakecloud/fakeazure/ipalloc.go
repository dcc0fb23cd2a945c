package fakeazure

import (
	"net/netip"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// Public addresses come from documentation-free fake pools; IPv4 from 20.0.0.0/16 like
// Azure's public ranges, IPv6 from 2603:1020:0:1::/64.
var (
	publicPoolV4 = netip.MustParsePrefix("20.0.0.0/16")
	publicPoolV6 = netip.MustParsePrefix("2603:1020:0:1::/64")
)

// subnetPrefix is the subnet's first prefix; the zero Prefix when it has none.
func subnetPrefix(sn *armnetwork.Subnet) netip.Prefix {
	if sn == nil || sn.Properties == nil {
		return netip.Prefix{}
	}
	p := str(sn.Properties.AddressPrefix)
	if p == "" && len(sn.Properties.AddressPrefixes) > 0 {
		p = str(sn.Properties.AddressPrefixes[0])
	}
	pr, err := netip.ParsePrefix(p)
	if err != nil {
		return netip.Prefix{}
	}
	return pr.Masked()
}

// subnetPrefixFor is the subnet's prefix of the family (a dual-stack subnet lists an IPv4
// and an IPv6 prefix in addressPrefixes); the zero Prefix when it has none.
func subnetPrefixFor(sn *armnetwork.Subnet, v6 bool) netip.Prefix {
	if sn == nil || sn.Properties == nil {
		return netip.Prefix{}
	}
	all := sn.Properties.AddressPrefixes
	if sn.Properties.AddressPrefix != nil {
		all = append([]*string{sn.Properties.AddressPrefix}, all...)
	}
	for _, a := range all {
		if pr, err := netip.ParsePrefix(str(a)); err == nil && pr.Addr().Is6() == v6 {
			return pr.Masked()
		}
	}
	return netip.Prefix{}
}

// nextFreeIP returns the lowest usable address of a subnet not in taken. Azure reserves
// the first four addresses and the last one of every IPv4 subnet.
func nextFreeIP(p netip.Prefix, taken map[netip.Addr]string) (netip.Addr, bool) {
	if !p.IsValid() {
		return netip.Addr{}, false
	}
	ip := p.Addr()
	for range 4 {
		ip = ip.Next()
	}
	for ; ip.IsValid() && p.Contains(ip); ip = ip.Next() {
		if !p.Contains(ip.Next()) {
			break // the last address is reserved
		}
		if _, used := taken[ip]; !used {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// allocatePublicIP returns the lowest free address of the fake public pool.
func (s *Server) allocatePublicIP(v6 bool) (string, bool) {
	pool := publicPoolV4
	if v6 {
		pool = publicPoolV6
	}
	taken := map[netip.Addr]string{}
	for _, e := range s.res {
		if p, ok := e.obj.(*pipT); ok && p.Properties != nil {
			if ip, err := netip.ParseAddr(str(p.Properties.IPAddress)); err == nil {
				taken[ip] = e.id
			}
		}
	}
	for ip := pool.Addr().Next(); pool.Contains(ip); ip = ip.Next() {
		if _, used := taken[ip]; !used {
			return ip.String(), true
		}
	}
	return "", false
}
