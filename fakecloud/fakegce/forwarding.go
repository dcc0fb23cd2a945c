package fakegce

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

var forwardingRules = register(&rtype{
	api: "ForwardingRules", collection: "forwardingRules", kind: "compute#forwardingRule", scopeKind: "regions",
	newMsg: func() proto.Message { return &computepb.ForwardingRule{} },
	// forwardingRules.patch documents networkTier only; gcloud's update also patches these.
	canPatch:    true,
	patchFields: map[string]bool{"networkTier": true, "allowGlobalAccess": true, "allowPscGlobalAccess": true, "sourceIpRanges": true},
	fingerprint: fpOptional,
	check:       checkForwardingRule,
	afterInsert: func(s *Server, o *object) {
		fr := o.msg.(*computepb.ForwardingRule)
		if a := s.addressByIP(o.scope, fr.GetIPAddress()); a != nil {
			am := a.msg.(*computepb.Address)
			am.Users = append(am.Users, o.link)
			am.Status = proto.String("IN_USE")
		}
	},
	afterDelete: func(s *Server, o *object) { s.releaseUser(o.link) },
	verbs: map[string]verb{
		"setTarget": {run: setTarget},
		"setLabels": {run: setLabels},
	},
})

func checkForwardingRule(s *Server, c *call, o, old *object) error {
	fr := o.msg.(*computepb.ForwardingRule)
	if old != nil {
		if fr.GetAllowGlobalAccess() && fr.GetLoadBalancingScheme() != "INTERNAL" {
			return errInvalidField("resource.allowGlobalAccess", "true", "Global access is only allowed for INTERNAL forwarding rules.")
		}
		return nil
	}
	if fr.LoadBalancingScheme == nil {
		fr.LoadBalancingScheme = proto.String("EXTERNAL")
	}
	scheme := fr.GetLoadBalancingScheme()
	if scheme != "EXTERNAL" && scheme != "INTERNAL" {
		return errInvalidField("resource.loadBalancingScheme", scheme, "fakegce serves EXTERNAL and INTERNAL passthrough forwarding rules only.")
	}
	if fr.IPProtocol == nil {
		fr.IPProtocol = proto.String("TCP")
	}
	switch fr.GetIPProtocol() {
	case "TCP", "UDP", "ESP", "AH", "SCTP", "ICMP", "L3_DEFAULT":
	default:
		return errInvalidField("resource.IPProtocol", fr.GetIPProtocol(), "Must be one of TCP, UDP, ESP, AH, SCTP, ICMP, L3_DEFAULT.")
	}
	if err := checkPorts(fr); err != nil {
		return err
	}
	if err := s.checkTarget(o.scope, fr); err != nil {
		return err
	}
	if fr.GetAllowGlobalAccess() && scheme != "INTERNAL" {
		return errInvalidField("resource.allowGlobalAccess", "true", "Global access is only allowed for INTERNAL forwarding rules.")
	}
	if scheme == "EXTERNAL" {
		if fr.NetworkTier == nil {
			fr.NetworkTier = proto.String("PREMIUM")
		}
		if t := fr.GetNetworkTier(); t != "PREMIUM" && t != "STANDARD" {
			return errInvalidField("resource.networkTier", t, "Must be PREMIUM or STANDARD.")
		}
	} else {
		if err := s.defaultSubnet(o.scope, &fr.Network, &fr.Subnetwork); err != nil {
			return err
		}
		if fr.GetNetworkTier() == "STANDARD" {
			return errInvalidField("resource.networkTier", "STANDARD", "Internal forwarding rules are PREMIUM only.")
		}
	}
	ip, err := s.forwardingRuleIP(o, fr)
	if err != nil {
		return err
	}
	fr.IPAddress = proto.String(ip)
	return nil
}

// checkPorts enforces one of portRange, ports (at most 5) or allPorts.
func checkPorts(fr *computepb.ForwardingRule) error {
	set := 0
	for _, b := range []bool{fr.PortRange != nil, len(fr.Ports) > 0, fr.GetAllPorts()} {
		if b {
			set++
		}
	}
	if set > 1 {
		return errInvalid("Only one of portRange, ports and allPorts may be specified.")
	}
	if len(fr.Ports) > 5 {
		return errInvalid("Too many ports specified. Maximum is 5.")
	}
	for _, p := range fr.Ports {
		if err := checkPortRange("resource.ports", p); err != nil {
			return err
		}
	}
	if fr.PortRange != nil {
		if err := checkPortRange("resource.portRange", fr.GetPortRange()); err != nil {
			return err
		}
		if !strings.Contains(fr.GetPortRange(), "-") {
			fr.PortRange = proto.String(fr.GetPortRange() + "-" + fr.GetPortRange())
		}
	}
	if fr.GetLoadBalancingScheme() == "EXTERNAL" && set == 0 && fr.GetTarget() != "" {
		fr.PortRange = proto.String("1-65535")
	}
	return nil
}

func checkPortRange(field, r string) error {
	lo, hi, found := strings.Cut(r, "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return errInvalidField(field, r, "Must be a port or a port range like 80-90 within 1-65535.")
	}
	return nil
}

// checkTarget requires exactly one existing target: a target pool (EXTERNAL) or a
// regional backend service whose scheme matches.
func (s *Server) checkTarget(scope string, fr *computepb.ForwardingRule) error {
	switch {
	case fr.GetTarget() != "" && fr.GetBackendService() != "":
		return errInvalid("Only one of target and backendService may be specified.")
	case fr.GetTarget() != "":
		if fr.GetLoadBalancingScheme() != "EXTERNAL" || collectionOf(fr.GetTarget()) != "targetPools" {
			return errInvalidField("resource.target", fr.GetTarget(), "Only target pools are served, with EXTERNAL forwarding rules.")
		}
		_, err := s.lookup(fr.GetTarget())
		return err
	case fr.GetBackendService() != "":
		bs, err := s.lookup(fr.GetBackendService())
		if err != nil {
			return err
		}
		if bs.typ != regionBackendServices || bs.scope != scope {
			return errInvalidField("resource.backendService", fr.GetBackendService(), "Must be a backend service of the forwarding rule's region.")
		}
		if got := bs.msg.(*computepb.BackendService).GetLoadBalancingScheme(); got != fr.GetLoadBalancingScheme() {
			return errInvalidField("resource.backendService", fr.GetBackendService(),
				fmt.Sprintf("The backend service's loadBalancingScheme %s does not match the forwarding rule's %s.", got, fr.GetLoadBalancingScheme()))
		}
		return nil
	}
	return errRequired("resource.target")
}

// forwardingRuleIP resolves or allocates the rule's IP: an address link or name, a
// literal IP (reserved, or for INTERNAL any free IP of the subnet), or a fresh one.
func (s *Server) forwardingRuleIP(o *object, fr *computepb.ForwardingRule) (string, error) {
	want := fr.GetIPAddress()
	internal := fr.GetLoadBalancingScheme() == "INTERNAL"
	if want == "" {
		if internal {
			return s.allocInternal(fr.GetSubnetwork())
		}
		return s.ips.external(s.usedIPs()), nil
	}
	if strings.Contains(want, "/addresses/") {
		a, err := s.lookup(canonicalLink(s.opts.Project, want))
		if err != nil {
			return "", err
		}
		want = a.msg.(*computepb.Address).GetAddress()
	}
	if _, err := netip.ParseAddr(want); err != nil {
		return "", errInvalidField("resource.IPAddress", want, "Must be an IP address or an address URL.")
	}
	if a := s.addressByIP(o.scope, want); a != nil {
		am := a.msg.(*computepb.Address)
		if (am.GetAddressType() == "INTERNAL") != internal {
			return "", errInvalidField("resource.IPAddress", want, "The address type does not match the forwarding rule's loadBalancingScheme.")
		}
		if !internal && am.GetNetworkTier() != fr.GetNetworkTier() {
			return "", errInvalidField("resource.IPAddress", want,
				fmt.Sprintf("The address's network tier %s does not match the forwarding rule's %s.", am.GetNetworkTier(), fr.GetNetworkTier()))
		}
		if user := s.sharingConflict(am, fr); user != "" {
			return "", opIPInUse(want, user)
		}
		return want, nil
	}
	if user := s.ipUser(want); user != "" {
		return "", opIPInUse(want, user)
	}
	if !internal {
		return "", errInvalidField("resource.IPAddress", want, "Specified IP address is not reserved in this project and region.")
	}
	sub, err := s.subnetCIDR(fr.GetSubnetwork())
	if err != nil {
		return "", err
	}
	if !sub.Contains(netip.MustParseAddr(want)) {
		return "", errInvalidField("resource.IPAddress", want, "Specified IP address is not within the subnetwork's range.")
	}
	return want, nil
}

func setTarget(s *Server, c *call, o *object) ([]byte, error) {
	var in computepb.TargetReference
	if err := decode(c.body, &in); err != nil {
		return nil, err
	}
	fr := proto.Clone(o.msg).(*computepb.ForwardingRule)
	if fr.GetBackendService() != "" {
		return nil, errInvalid("setTarget is not supported for forwarding rules with a backendService.")
	}
	fr.Target = proto.String(canonicalLink(s.opts.Project, in.GetTarget()))
	if err := s.checkTarget(o.scope, fr); err != nil {
		return nil, err
	}
	o.msg = fr
	return nil, nil
}

// setLabels replaces the labels of a forwarding rule or address given the current labelFingerprint.
func setLabels(s *Server, c *call, o *object) ([]byte, error) {
	var in computepb.RegionSetLabelsRequest
	if err := decode(c.body, &in); err != nil {
		return nil, err
	}
	if in.GetLabelFingerprint() != getString(o.msg, "labelFingerprint") {
		return nil, errConditionNotMet("Labels fingerprint either invalid or resource labels have changed")
	}
	m := proto.Clone(o.msg)
	switch x := m.(type) {
	case *computepb.ForwardingRule:
		x.Labels = in.GetLabels()
	case *computepb.Address:
		x.Labels = in.GetLabels()
	}
	setString(m, "labelFingerprint", s.fingerprint())
	o.msg = m
	return nil, nil
}

// addressByIP finds the address of scope that reserves ip.
func (s *Server) addressByIP(scope, ip string) *object {
	if ip == "" {
		return nil
	}
	for _, a := range s.inScope(scope, "addresses") {
		if a.msg.(*computepb.Address).GetAddress() == ip {
			return a
		}
	}
	return nil
}

// releaseUser removes user from every address's users.
func (s *Server) releaseUser(user string) {
	for _, link := range s.sortedLinks() {
		a, ok := s.objects[link].msg.(*computepb.Address)
		if !ok || !slices.Contains(a.Users, user) {
			continue
		}
		a.Users = slices.DeleteFunc(a.Users, func(u string) bool { return u == user })
		if len(a.Users) == 0 {
			a.Users = nil
			a.Status = proto.String("RESERVED")
		}
	}
}
