package fakegce

import (
	"fmt"
	"net/netip"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

var addresses = register(&rtype{
	api: "Addresses", collection: "addresses", kind: "compute#address", scopeKind: "regions",
	newMsg: func() proto.Message { return &computepb.Address{} },
	check:  checkAddress,
	afterInsert: func(s *Server, o *object) {
		a := o.msg.(*computepb.Address)
		// Reserving the IP of a forwarding rule (promoting an ephemeral IP) makes it IN_USE.
		for _, fr := range s.inScope(o.scope, "forwardingRules") {
			if fr.msg.(*computepb.ForwardingRule).GetIPAddress() == a.GetAddress() {
				a.Users = append(a.Users, fr.link)
				a.Status = proto.String("IN_USE")
			}
		}
	},
	inUse: func(_ *Server, o *object) string {
		if u := o.msg.(*computepb.Address).GetUsers(); len(u) > 0 {
			return u[0]
		}
		return ""
	},
	verbs: map[string]verb{"setLabels": {run: setLabels}},
})

func checkAddress(s *Server, c *call, o, _ *object) error {
	a := o.msg.(*computepb.Address)
	a.Users, a.Status = nil, proto.String("RESERVED")
	if a.AddressType == nil {
		a.AddressType = proto.String("EXTERNAL")
	}
	if a.GetIpVersion() == "IPV6" {
		return errInvalidField("resource.ipVersion", "IPV6", "fakegce serves IPv4 addresses only.")
	}
	internal := false
	switch a.GetAddressType() {
	case "EXTERNAL":
		if a.NetworkTier == nil {
			a.NetworkTier = proto.String("PREMIUM")
		}
		if t := a.GetNetworkTier(); t != "PREMIUM" && t != "STANDARD" {
			return errInvalidField("resource.networkTier", t, "Must be PREMIUM or STANDARD.")
		}
		if a.Subnetwork != nil {
			return errInvalidField("resource.subnetwork", a.GetSubnetwork(), "An EXTERNAL address cannot have a subnetwork.")
		}
		if a.GetPurpose() != "" {
			return errInvalidField("resource.purpose", a.GetPurpose(), "fakegce serves no purpose for EXTERNAL addresses.")
		}
	case "INTERNAL":
		internal = true
		if err := s.defaultSubnet(o.scope, &a.Network, &a.Subnetwork); err != nil {
			return err
		}
		a.Network = nil
		a.NetworkTier = proto.String("PREMIUM")
		if a.Purpose == nil {
			a.Purpose = proto.String(purposeEndpoint)
		}
		if p := a.GetPurpose(); p != purposeEndpoint && p != purposeSharedVIP {
			return errInvalidField("resource.purpose", p, "fakegce serves GCE_ENDPOINT and SHARED_LOADBALANCER_VIP internal addresses.")
		}
	default:
		return errInvalidField("resource.addressType", a.GetAddressType(), "Must be EXTERNAL or INTERNAL.")
	}
	if a.GetAddress() == "" {
		if internal {
			ip, err := s.allocInternal(a.GetSubnetwork())
			if err != nil {
				return err
			}
			a.Address = proto.String(ip)
		} else {
			a.Address = proto.String(s.ips.external(s.usedIPs()))
		}
		return nil
	}
	ip, err := netip.ParseAddr(a.GetAddress())
	if err != nil || !ip.Is4() {
		return errInvalidField("resource.address", a.GetAddress(), "Must be an IPv4 address.")
	}
	if other := s.addressByIP(o.scope, a.GetAddress()); other != nil {
		return opIPInUse(a.GetAddress(), other.link)
	}
	if user := s.ipUser(a.GetAddress()); user != "" && collectionOf(user) != "forwardingRules" {
		return opIPInUse(a.GetAddress(), user)
	}
	if internal {
		cidr, err := s.subnetCIDR(a.GetSubnetwork())
		if err != nil {
			return err
		}
		if !cidr.Contains(ip) {
			return errInvalidField("resource.address", a.GetAddress(), "Specified IP address is not within the subnetwork's range.")
		}
	}
	return nil
}

// ipPool hands out external IPs from 34.120.0.0/16 in order; internal IPs come from the
// subnetwork's range.
type ipPool struct{ next uint32 }

func newIPPool() ipPool { return ipPool{next: 2} }

// external returns the next external IP not in used.
func (p *ipPool) external(used map[string]string) string {
	for {
		n := p.next
		p.next++
		ip := fmt.Sprintf("34.120.%d.%d", (n/254)%256, n%254+1)
		if _, taken := used[ip]; !taken {
			return ip
		}
	}
}

// usedIPs maps every IP held by an address, forwarding rule or instance to its holder.
func (s *Server) usedIPs() map[string]string {
	used := map[string]string{}
	for _, link := range s.sortedLinks() {
		o := s.objects[link]
		switch m := o.msg.(type) {
		case *computepb.Address:
			used[m.GetAddress()] = link
		case *computepb.ForwardingRule:
			if _, ok := used[m.GetIPAddress()]; !ok {
				used[m.GetIPAddress()] = link
			}
		case *computepb.Instance:
			for _, ni := range m.GetNetworkInterfaces() {
				used[ni.GetNetworkIP()] = link
			}
		}
	}
	return used
}

// ipUser is the link of the forwarding rule or instance holding ip, "" when free
// (addresses are looked up by addressByIP).
func (s *Server) ipUser(ip string) string {
	for _, link := range s.sortedLinks() {
		switch m := s.objects[link].msg.(type) {
		case *computepb.ForwardingRule:
			if m.GetIPAddress() == ip {
				return link
			}
		case *computepb.Instance:
			for _, ni := range m.GetNetworkInterfaces() {
				if ni.GetNetworkIP() == ip {
					return link
				}
			}
		}
	}
	return ""
}

// allocInternal returns the lowest free IP of a subnetwork, skipping the network and
// gateway addresses and the last two, which GCE reserves.
func (s *Server) allocInternal(subnet string) (string, error) {
	cidr, err := s.subnetCIDR(subnet)
	if err != nil {
		return "", err
	}
	used := s.usedIPs()
	last := cidr.Addr()
	for ip := cidr.Addr().Next().Next(); cidr.Contains(ip); ip = ip.Next() {
		last = ip
	}
	for ip := cidr.Addr().Next().Next(); cidr.Contains(ip) && ip != last && ip.Next() != last; ip = ip.Next() {
		if _, taken := used[ip.String()]; !taken {
			return ip.String(), nil
		}
	}
	return "", &apiError{Status: 400, Reason: "ipSpaceExhausted", Message: fmt.Sprintf("IP space of '%s' is exhausted", subnet)}
}

// subnetCIDR is the range of a subnetwork link.
func (s *Server) subnetCIDR(subnet string) (netip.Prefix, error) {
	o, err := s.lookup(subnet)
	if err != nil {
		return netip.Prefix{}, err
	}
	p, err := netip.ParsePrefix(o.msg.(*computepb.Subnetwork).GetIpCidrRange())
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("fakegce: subnetwork %s: %w", subnet, err)
	}
	return p.Masked(), nil
}

// defaultSubnet fills network and subnetwork of an internal resource: the "default"
// subnetwork of the region when neither is given, the subnetwork's network otherwise,
// and checks that both exist and agree.
func (s *Server) defaultSubnet(scope string, network, subnet **string) error {
	if *subnet == nil || **subnet == "" {
		if *network != nil && **network != "" {
			for _, sn := range s.inScope(scope, "subnetworks") {
				if sn.msg.(*computepb.Subnetwork).GetNetwork() == **network {
					*subnet = proto.String(sn.link)
					break
				}
			}
		}
		if *subnet == nil {
			*subnet = proto.String(s.linkOf(scope, "subnetworks", "default"))
		}
	}
	sn, err := s.lookup(**subnet)
	if err != nil {
		return err
	}
	if sn.typ != subnetworks {
		return errInvalidField("resource.subnetwork", **subnet, "Must be a subnetwork URL.")
	}
	net := sn.msg.(*computepb.Subnetwork).GetNetwork()
	if *network != nil && **network != "" && **network != net {
		return errInvalidField("resource.network", **network, "The subnetwork "+**subnet+" is not in this network.")
	}
	*network = proto.String(net)
	return nil
}
