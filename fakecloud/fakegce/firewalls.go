package fakegce

import (
	"fmt"
	"net/netip"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

var firewalls = register(&rtype{
	api: "Firewalls", collection: "firewalls", kind: "compute#firewall", scopeKind: "global",
	newMsg:   func() proto.Message { return &computepb.Firewall{} },
	canPatch: true, canUpdate: true,
	check: checkFirewall,
})

// maxFirewallPorts bounds the port entries of one rule, like GCE's per-rule limit.
const maxFirewallPorts = 100

func checkFirewall(s *Server, _ *call, o, old *object) error {
	fw := o.msg.(*computepb.Firewall)
	if fw.Network == nil {
		fw.Network = proto.String("projects/" + s.opts.Project + "/global/networks/default")
	}
	n, err := s.lookup(fw.GetNetwork())
	if err != nil {
		return err
	}
	if n.typ != networks {
		return errInvalidField("resource.network", fw.GetNetwork(), "Must be a network URL.")
	}
	if old != nil && old.msg.(*computepb.Firewall).GetNetwork() != fw.GetNetwork() {
		return errInvalidField("resource.network", fw.GetNetwork(), "The network of a firewall cannot be changed.")
	}
	if fw.Direction == nil {
		fw.Direction = proto.String("INGRESS")
	}
	if d := fw.GetDirection(); d != "INGRESS" && d != "EGRESS" {
		return errInvalidField("resource.direction", d, "Must be INGRESS or EGRESS.")
	}
	if fw.Priority == nil {
		fw.Priority = proto.Int32(1000)
	}
	if p := fw.GetPriority(); p < 0 || p > 65535 {
		return errInvalidField("resource.priority", fmt.Sprint(p), "Must be between 0 and 65535.")
	}
	if (len(fw.Allowed) > 0) == (len(fw.Denied) > 0) {
		return errInvalid("Exactly one of 'allowed' and 'denied' must be specified.")
	}
	ports := 0
	for i, a := range fw.Allowed {
		if err := checkRuleProto(fmt.Sprintf("resource.allowed[%d]", i), a.GetIPProtocol(), a.Ports); err != nil {
			return err
		}
		ports += len(a.Ports)
	}
	for i, d := range fw.Denied {
		if err := checkRuleProto(fmt.Sprintf("resource.denied[%d]", i), d.GetIPProtocol(), d.Ports); err != nil {
			return err
		}
		ports += len(d.Ports)
	}
	if ports > maxFirewallPorts {
		return errInvalid(fmt.Sprintf("Too many ports: %d port entries, the limit is %d.", ports, maxFirewallPorts))
	}
	for field, ranges := range map[string][]string{"sourceRanges": fw.SourceRanges, "destinationRanges": fw.DestinationRanges} {
		for _, r := range ranges {
			if _, err := netip.ParsePrefix(r); err != nil {
				if _, err := netip.ParseAddr(r); err != nil {
					return errInvalidField("resource."+field, r, "Must be a CIDR range or an IP address.")
				}
			}
		}
	}
	if fw.GetDirection() == "INGRESS" && len(fw.SourceRanges) == 0 && len(fw.SourceTags) == 0 && len(fw.SourceServiceAccounts) == 0 {
		fw.SourceRanges = []string{"0.0.0.0/0"}
	}
	if fw.Disabled == nil {
		fw.Disabled = proto.Bool(false)
	}
	return nil
}

func checkRuleProto(field, protocol string, ports []string) error {
	if protocol == "" {
		return errRequired(field + ".IPProtocol")
	}
	switch strings.ToLower(protocol) {
	case "tcp", "udp", "sctp":
	case "icmp", "esp", "ah", "ipip", "all":
		if len(ports) > 0 {
			return errInvalidField(field+".ports", strings.Join(ports, ","), "Ports are only allowed with tcp, udp and sctp.")
		}
	default:
		return errInvalidField(field+".IPProtocol", protocol, "Unknown protocol.")
	}
	for _, p := range ports {
		if err := checkPortRange(field+".ports", p); err != nil {
			return err
		}
	}
	return nil
}
