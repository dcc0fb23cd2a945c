package nodeproxy

import (
	"net"
	"net/netip"

	"k8s.io/klog/v2"
)

// bindAddr is one address a health check server or NodePort proxy listens on.
type bindAddr struct {
	network string // tcp, tcp4 or tcp6
	host    string // "" is every address of the network
}

// nodePortBindAddresses are where the health check servers and the NodePort proxies listen.
// Without --nodeport-addresses: every address. A family's whole range (0.0.0.0/0, ::/0) is that
// family's wildcard, so addresses that appear later are served too; for other CIDRs, this node's addresses inside them, read now. As in
// kube-proxy, when the addresses cannot be read it falls back to every address rather than
// serving nothing.
func nodePortBindAddresses(logger klog.Logger, cidrs []netip.Prefix, interfaceAddrs func() ([]net.Addr, error)) []bindAddr {
	all := []bindAddr{{network: "tcp"}}
	if len(cidrs) == 0 {
		return all
	}
	var all4, all6 bool
	for _, p := range cidrs {
		if p.Bits() == 0 {
			all4, all6 = all4 || p.Addr().Is4(), all6 || p.Addr().Is6()
		}
	}
	var out []bindAddr
	switch {
	case all4 && all6:
		return all
	case all4:
		out = append(out, bindAddr{network: "tcp4"})
	case all6:
		out = append(out, bindAddr{network: "tcp6"})
	}
	ifAddrs, err := interfaceAddrs()
	if err != nil {
		logger.Error(err, "Cannot list node addresses; node port servers listen on every address")
		return all
	}
	for _, a := range ifAddrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() && all4 || ip.Is6() && all6 {
			continue // covered by the family's wildcard
		}
		for _, p := range cidrs {
			if p.Contains(ip) {
				out = append(out, bindAddr{network: "tcp", host: ip.String()})
				break
			}
		}
	}
	return out
}
