package fakegce

import (
	"strconv"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// Address purposes fakegce accepts for INTERNAL addresses.
const (
	purposeEndpoint  = "GCE_ENDPOINT"
	purposeSharedVIP = "SHARED_LOADBALANCER_VIP"
)

// sharingConflict returns the user of address a that keeps forwarding rule fr from using
// it, "" when fr may join the address's users. GCE lets several forwarding rules share one
// reserved address when each (protocol, ports) pair is unique: any reserved EXTERNAL
// address, and INTERNAL addresses whose purpose is SHARED_LOADBALANCER_VIP (a GCE_ENDPOINT
// internal address serves one rule).
func (s *Server) sharingConflict(a *computepb.Address, fr *computepb.ForwardingRule) string {
	if len(a.Users) == 0 {
		return ""
	}
	if a.GetAddressType() == "INTERNAL" && a.GetPurpose() != purposeSharedVIP {
		return a.Users[0]
	}
	for _, u := range a.Users {
		o, ok := s.objects[u]
		if !ok {
			continue
		}
		other, isRule := o.msg.(*computepb.ForwardingRule)
		if !isRule {
			return u
		}
		if other.GetIPProtocol() == fr.GetIPProtocol() && spansOverlap(portSpans(other), portSpans(fr)) {
			return u
		}
	}
	return ""
}

// span is an inclusive port range.
type span struct{ lo, hi int }

// portSpans are the ports a forwarding rule serves: its portRange, its ports, or all of
// them (allPorts, or nothing set).
func portSpans(fr *computepb.ForwardingRule) []span {
	var out []span
	add := func(r string) {
		lo, hi, found := strings.Cut(r, "-")
		if !found {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil {
			out = append(out, span{a, b})
		}
	}
	if fr.PortRange != nil {
		add(fr.GetPortRange())
	}
	for _, p := range fr.Ports {
		add(p)
	}
	if len(out) == 0 {
		out = append(out, span{1, 65535})
	}
	return out
}

func spansOverlap(a, b []span) bool {
	for _, x := range a {
		for _, y := range b {
			if x.lo <= y.hi && y.lo <= x.hi {
				return true
			}
		}
	}
	return false
}
